using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;

namespace Herald.Testing;

/// <summary>
/// Runs the real <c>redis-cli</c> (from the redis-tools package that comes with redis-server): one-off commands for the
/// fixtures (cluster creation, Sentinel queries), and <see cref="PSubscribeAsync"/>, the very command seed 000's runbook
/// has an operator type to watch chat traffic. Every call is bounded in time.
/// </summary>
public static class RedisCli
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <c>redis-cli -h 127.0.0.1 -p port args…</c> and returns its output; throws when it fails.</summary>
    public static async Task<string> RunAsync(int port, params string[] args)
    {
        using var process = Start(port, args);
        using var timeout = new CancellationTokenSource(CommandTimeout);
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', args)} exited with {process.ExitCode}: {await error}{await output}");
        }

        return await output;
    }

    /// <summary>
    /// Starts <c>redis-cli PSUBSCRIBE pattern</c> against the server on <paramref name="port"/> and returns once Redis
    /// has confirmed the subscription; the messages it prints arrive in <see cref="Subscription.Messages"/>.
    /// </summary>
    public static async Task<Subscription> PSubscribeAsync(int port, string pattern)
    {
        var subscription = new Subscription(Start(port, ["PSUBSCRIBE", pattern]));
        try
        {
            await subscription.Confirmed.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch
        {
            await subscription.DisposeAsync();
            throw;
        }

        return subscription;
    }

    private static Process Start(int port, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(FindCli())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. args])
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start.");
    }

    private static string FindCli() => RedisServerFixture.FindOnPath("redis-cli")
        ?? throw new InvalidOperationException("redis-cli not found: run scripts/test.sh, which installs redis-server (and redis-tools with it).");

    /// <summary>One message as redis-cli prints it for a pattern subscription.</summary>
    public sealed record Message(string Pattern, string Channel, string Payload);

    /// <summary>A running <c>redis-cli PSUBSCRIBE</c>; disposing it kills the process.</summary>
    public sealed class Subscription : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<Message> _messages = Channel.CreateUnbounded<Message>();
        private readonly TaskCompletionSource _confirmed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _reading;

        internal Subscription(Process process)
        {
            _process = process;
            _reading = ReadAsync();
        }

        /// <summary>Every <c>pmessage</c> printed so far and to come.</summary>
        public ChannelReader<Message> Messages => _messages.Reader;

        internal Task Confirmed => _confirmed.Task;

        /// <summary>The next message on <paramref name="channel"/>, skipping others; fails after <paramref name="timeout"/>.</summary>
        public async Task<Message> NextOnAsync(string channel, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                var message = await _messages.Reader.ReadAsync(cts.Token);
                if (message.Channel == channel)
                {
                    return message;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                _process.Kill();
            }
            catch (InvalidOperationException)
            {
            }

            await _reading.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _process.Dispose();
        }

        // Not a terminal, so redis-cli prints raw replies one element per line: "psubscribe", pattern, count once, then
        // "pmessage", pattern, channel, payload per message. A JSON payload holds no raw line break.
        private async Task ReadAsync()
        {
            var output = _process.StandardOutput;
            try
            {
                while (await output.ReadLineAsync() is { } kind)
                {
                    if (kind == "psubscribe")
                    {
                        await output.ReadLineAsync();
                        await output.ReadLineAsync();
                        _confirmed.TrySetResult();
                    }
                    else if (kind == "pmessage")
                    {
                        var pattern = await output.ReadLineAsync();
                        var channel = await output.ReadLineAsync();
                        var payload = await output.ReadLineAsync();
                        if (pattern is null || channel is null || payload is null)
                        {
                            break;
                        }

                        _messages.Writer.TryWrite(new Message(pattern, channel, payload));
                    }
                }
            }
            finally
            {
                _confirmed.TrySetException(new InvalidOperationException(
                    "redis-cli PSUBSCRIBE ended before Redis confirmed: " + await _process.StandardError.ReadToEndAsync()));
                _messages.Writer.TryComplete();
            }
        }
    }
}
