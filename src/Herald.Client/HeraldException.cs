using System.Net;

namespace Herald.Client;

/// <summary>
/// The server refused a request in a way that retrying will not fix (a bad or expired credential, a dialog that
/// does not exist or is not the caller's, invalid input). Subscriptions end with it instead of retrying forever.
/// </summary>
public sealed class HeraldException : Exception
{
    /// <summary>Creates an exception with a message only.</summary>
    public HeraldException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public HeraldException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public HeraldException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for an HTTP error answer.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="errorCode">Herald's <c>error</c> code (docs/protocol.md), if the body had one.</param>
    /// <param name="detail">Herald's <c>detail</c> text, if the body had one.</param>
    public HeraldException(HttpStatusCode statusCode, string? errorCode, string? detail)
        : base($"Herald answered {(int)statusCode} {errorCode ?? statusCode.ToString()}{(detail is null ? "" : ": " + detail)}")
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
        Detail = detail;
    }

    /// <summary>The HTTP status, when the error came from an HTTP answer.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Herald's error code, e.g. <c>unauthorized</c>, <c>forbidden</c>, <c>not_found</c> (see <c>Herald.Protocol.ErrorCodes</c>).</summary>
    public string? ErrorCode { get; }

    /// <summary>Herald's human-readable detail.</summary>
    public string? Detail { get; }
}
