using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Herald.Testing;

/// <summary>
/// Keeps an in-process host's log entries (those its filters let through, at most 2,000), so that a test can check
/// what reached the log and a request that fails with 500 says why in the failure message (the console output of an
/// in-process server is not shown by the runner).
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private const int MaxEntries = 2_000;

    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Entries at <paramref name="minimum"/> or above with their exceptions, for a failure message (empty when there are none).</summary>
    public string Text(LogLevel minimum = LogLevel.Error)
    {
        var lines = _entries.Where(e => e.Level >= minimum).Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}").ToList();
        return lines.Count == 0 ? "" : "\nserver log:\n" + string.Join("\n", lines);
    }

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && owner._entries.Count < MaxEntries)
            {
                owner._entries.Enqueue(new LogEntry(logLevel, category, eventId, formatter(state, exception), exception));
            }
        }
    }
}
