using Herald.Protocol;

namespace Herald.Server.Api;

/// <summary>An error answer: status code plus <c>{"error": code, "detail": text}</c> (codes in <see cref="ErrorCodes"/>).</summary>
public sealed class ApiError(int status, string code, string detail) : IResult
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    public string Detail { get; } = detail;

    /// <summary>Seconds for a <c>Retry-After</c> header (429, 503).</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiError BadRequest(string code, string detail) => new(StatusCodes.Status400BadRequest, code, detail);

    public static ApiError Unauthorized(string detail) => new(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, detail);

    public static ApiError Forbidden(string detail) => new(StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, detail);

    public static ApiError NotFound(string detail) => new(StatusCodes.Status404NotFound, ErrorCodes.NotFound, detail);

    /// <summary>An answer about every node while Redis is out of reach (the backplane's <c>BackplaneUnavailableException</c>).</summary>
    public static ApiError BackplaneUnavailable() =>
        new(StatusCodes.Status503ServiceUnavailable, ErrorCodes.BackplaneUnavailable, "Redis cannot be reached, so the other nodes cannot be asked; retry later.")
        { RetryAfterSeconds = 1 };

    public static ApiError TooManyConnections(int retryAfterSeconds) =>
        new(StatusCodes.Status503ServiceUnavailable, ErrorCodes.TooManyConnections, "This node has reached its connection limit; retry later.") { RetryAfterSeconds = retryAfterSeconds };

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = Status;
        if (RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString();
        }

        response.ContentType = ErrorBody.ContentType;
        await new ErrorBody(Code, Detail).WriteAsync(response.Body, httpContext.RequestAborted);
    }

    public override string ToString() => $"{Status} {Code}: {Detail}";
}
