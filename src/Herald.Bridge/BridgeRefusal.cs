using System.Globalization;
using Herald.Protocol;

namespace Herald.Bridge;

/// <summary>A refused WebSocket upgrade: the status and Herald's error body, <c>{"error": code, "detail": text}</c>.</summary>
/// <param name="Status">The HTTP status (401, 403, 503).</param>
/// <param name="Error">The error code (<see cref="ErrorCodes"/>).</param>
/// <param name="Detail">What the client should do about it.</param>
/// <param name="Setting">The setting that refused it, for the log line (<c>proxy.limits.maxConnectionsPerAddress</c>).</param>
public sealed record BridgeRefusal(int Status, string Error, string Detail, string Setting)
{
    /// <summary>Seconds for a <c>Retry-After</c> header (503).</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Answers the upgrade request with this refusal.</summary>
    public Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = Status;
        if (RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        response.ContentType = ErrorBody.ContentType;
        return new ErrorBody(Error, Detail).WriteAsync(response.Body, context.RequestAborted);
    }
}
