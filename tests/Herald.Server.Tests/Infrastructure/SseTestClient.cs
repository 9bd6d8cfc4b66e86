using System.Net.ServerSentEvents;
using System.Threading.Channels;

namespace Herald.Server.Tests.Infrastructure;

/// <summary>
/// Reads an SSE stream with the runtime's <see cref="SseParser"/> (a parser this project did not write) and
/// hands out events one at a time, with timeouts, so tests await events instead of sleeping.
/// </summary>
public sealed class SseTestClient : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SseItem<string>> _events = Channel.CreateUnbounded<SseItem<string>>();
    private readonly Task _pump;

    private SseTestClient(HttpResponseMessage response, Stream stream)
    {
        _response = response;
        var parser = SseParser.Create(stream);
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var item in parser.EnumerateAsync(_stop.Token))
                {
                    await _events.Writer.WriteAsync(item);
                }

                _events.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _events.Writer.TryComplete(ex is OperationCanceledException ? null : ex);
            }
            finally
            {
                Retry = parser.ReconnectionInterval;
            }
        });
        Parser = parser;
    }

    public HttpResponseMessage Response => _response;

    public SseParser<string> Parser { get; }

    /// <summary>The last <c>retry:</c> seen (set when the stream ends).</summary>
    public TimeSpan Retry { get; private set; }

    /// <summary>Opens a stream; the response headers have arrived when this returns.</summary>
    public static Task<SseTestClient> ConnectAsync(HttpClient client, string url, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return ConnectAsync(client, request);
    }

    /// <summary>Opens a stream with a request of the caller's (its own headers: a token, a cookie).</summary>
    public static async Task<SseTestClient> ConnectAsync(HttpClient client, HttpRequestMessage request)
    {
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync();
            response.Dispose();
            throw new HttpRequestException($"SSE connect failed: {(int)response.StatusCode} {body}", null, response.StatusCode);
        }

        return new SseTestClient(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event, or a failed test after <paramref name="timeout"/>.</summary>
    public async Task<SseItem<string>> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _events.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No SSE event within {timeout ?? TimeSpan.FromSeconds(10)}.");
        }
    }

    /// <summary>Reads <paramref name="count"/> events.</summary>
    public async Task<List<SseItem<string>>> TakeAsync(int count, TimeSpan? timeout = null)
    {
        var items = new List<SseItem<string>>(count);
        for (var i = 0; i < count; i++)
        {
            items.Add(await NextAsync(timeout));
        }

        return items;
    }

    /// <summary>Completes when the server ends the stream.</summary>
    public async Task WaitForEndAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _events.Reader.WaitToReadAsync(cts.Token))
            {
                _events.Reader.TryRead(out _);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The server did not end the stream within {timeout}.");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // Ended by an abort rather than a clean close: still ended.
        }
    }

    /// <summary>True when no event arrives within <paramref name="window"/>.</summary>
    public async Task<bool> IsQuietAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            return !await _events.Reader.WaitToReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _pump;
        }
        catch
        {
        }

        _stop.Dispose();
    }
}
