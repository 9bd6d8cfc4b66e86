using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Herald.Client.Internal;

/// <summary>The client's log messages, with stable event ids.</summary>
internal static partial class HeraldClientLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Herald stream connected: {Path}, resuming after {LastEventId}")]
    public static partial void Connected(ILogger logger, string path, long? lastEventId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Herald stream lost: {Path} ({Reason}); reconnecting in {DelayMs} ms")]
    public static partial void Reconnecting(ILogger logger, string path, string reason, long delayMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Herald stream reset: {Path}, reason {Reason}, continuing after {LastEventId}; reload history")]
    public static partial void Reset(ILogger logger, string path, string reason, long? lastEventId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Herald refused the stream {Path}: {Status} {Error}")]
    public static partial void Refused(ILogger logger, string path, int status, string? error);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Herald stream {Path}: skipped a malformed event (type {EventType}, id {Id}): {Problem}")]
    public static partial void MalformedEvent(ILogger logger, string path, string eventType, string? id, string problem);

    /// <summary>
    /// A value the server sent, fit for one log line: control characters (ESC, NUL, ...) and the Unicode line and
    /// paragraph separators escaped as <c>\uXXXX</c>, at most 64 characters. The reader already split on CR and LF.
    /// </summary>
    [return: NotNullIfNotNull(nameof(value))]
    public static string? Printable(string? value)
    {
        if (value is null)
        {
            return null;
        }

        const int MaxLength = 64;
        var builder = new StringBuilder(Math.Min(value.Length, MaxLength));
        foreach (var c in value.Length > MaxLength ? value.AsSpan(0, MaxLength) : value.AsSpan())
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return value.Length > MaxLength ? builder.Append('…').ToString() : builder.ToString();
    }
}
