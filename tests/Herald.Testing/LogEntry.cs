using Microsoft.Extensions.Logging;

namespace Herald.Testing;

/// <summary>One log entry as a sink would write it: the formatted message, without the exception.</summary>
public sealed record LogEntry(LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception);
