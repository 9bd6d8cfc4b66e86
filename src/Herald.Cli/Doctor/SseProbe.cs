using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Herald.Cli.Doctor;

/// <summary>
/// Reads an SSE stream byte by byte as it arrives and timestamps every line. The runtime's SseParser hides
/// comments and <c>retry:</c>, and their arrival time is exactly what tells a buffering proxy from a working one.
/// </summary>
/// <remarks>Parsing follows WHATWG HTML 9.2.6 "Interpreting an event stream".</remarks>
internal sealed class SseProbe : IAsyncDisposable
{
    // A line longer than this is not Herald's (its events are a few KB); stop rather than buffer without bound.
    private const int MaxLine = 1024 * 1024;

    private readonly Stream _stream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SseProbeItem> _items = Channel.CreateUnbounded<SseProbeItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _pump;

    public SseProbe(Stream stream)
    {
        _stream = stream;
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>The next item, or null when none arrives within <paramref name="timeout"/>.</summary>
    public async Task<SseProbeItem?> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _items.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return new SseProbeItem(SseProbeItem.Kinds.End, Stopwatch.GetTimestamp());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _stream.DisposeAsync();
        try
        {
            await _pump;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
        }

        _stop.Dispose();
    }

    private async Task PumpAsync()
    {
        var bytes = new byte[4096];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        var decoder = Encoding.UTF8.GetDecoder();
        var line = new StringBuilder();
        var data = new StringBuilder();
        string? eventType = null;
        string? id = null;
        var afterCr = false;
        try
        {
            while (true)
            {
                var read = await _stream.ReadAsync(bytes, _stop.Token);
                var now = Stopwatch.GetTimestamp();
                if (read == 0)
                {
                    break;
                }

                var n = decoder.GetChars(bytes, 0, read, chars, 0);
                for (var i = 0; i < n; i++)
                {
                    var c = chars[i];
                    // "Lines must be separated by either a U+000D U+000A pair, a single U+000A, or a single U+000D."
                    if (c == '\n' && afterCr)
                    {
                        afterCr = false;
                        continue;
                    }

                    afterCr = c == '\r';
                    if (c is '\r' or '\n')
                    {
                        ProcessLine(line.ToString(), now, data, ref eventType, ref id);
                        line.Clear();
                    }
                    else if (line.Length < MaxLine)
                    {
                        line.Append(c);
                    }
                    else
                    {
                        throw new InvalidDataException("An SSE line longer than 1 MiB: this is not Herald's stream.");
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or InvalidDataException)
        {
            // A reset connection ends the stream just like a clean close, as far as the checks care.
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
        finally
        {
            _items.Writer.TryWrite(new SseProbeItem(SseProbeItem.Kinds.End, Stopwatch.GetTimestamp()));
            _items.Writer.TryComplete();
        }
    }

    private void ProcessLine(string line, long now, StringBuilder data, ref string? eventType, ref string? id)
    {
        // "If the line is empty (a blank line): Dispatch the event."
        if (line.Length == 0)
        {
            if (data.Length > 0)
            {
                // "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove [it]."
                var payload = data.ToString(0, data.Length - 1);
                _items.Writer.TryWrite(new SseProbeItem(SseProbeItem.Kinds.Event, now, id, eventType ?? "message", payload));
            }

            data.Clear();
            eventType = null;
            return;
        }

        // "If the line starts with a U+003A COLON character (:): Ignore the line." — except that we note it.
        if (line[0] == ':')
        {
            _items.Writer.TryWrite(new SseProbeItem(SseProbeItem.Kinds.Comment, now, Data: line[1..].TrimStart(' ')));
            return;
        }

        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? "" : line[(colon + 1)..];
        if (value.StartsWith(' '))
        {
            value = value[1..];
        }

        switch (field)
        {
            case "event":
                eventType = value;
                break;
            case "data":
                data.Append(value).Append('\n');
                break;
            case "id" when !value.Contains('\0', StringComparison.Ordinal):
                id = value;
                break;
            case "retry" when value.Length > 0 && value.All(char.IsAsciiDigit) && int.TryParse(value, out var retry):
                _items.Writer.TryWrite(new SseProbeItem(SseProbeItem.Kinds.Retry, now, Retry: retry));
                break;
        }
    }
}
