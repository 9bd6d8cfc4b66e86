using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Herald.Client.Tests.Infrastructure;

/// <summary>A logger whose entries can be awaited by event id: how a test learns that the client reconnected.</summary>
public sealed class SignalLogger : ILogger
{
    private readonly Channel<(int EventId, string Message)> _entries = Channel.CreateUnbounded<(int, string)>();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, int> _counts = new();

    /// <summary>How many entries with <paramref name="eventId"/> were logged so far.</summary>
    public int Count(int eventId) => _counts.TryGetValue(eventId, out var n) ? n : 0;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        _counts.AddOrUpdate(eventId.Id, 1, (_, n) => n + 1);
        _entries.Writer.TryWrite((eventId.Id, formatter(state, exception)));
    }

    /// <summary>Waits for the next entry with <paramref name="eventId"/>; returns its message.</summary>
    public async Task<string> WaitForAsync(int eventId, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var entry = await _entries.Reader.ReadAsync(cts.Token);
                if (entry.EventId == eventId)
                {
                    return entry.Message;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No log entry {eventId} within {timeout}.");
        }
    }
}
