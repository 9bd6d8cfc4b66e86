namespace Herald.Server.Api;

/// <summary>
/// An answer whose JSON body is already encoded (UTF-8), written as it is: the chat POST answers with the message
/// object of the event it has just written (<c>PostMessageCommand.MessageJson</c>) instead of serializing it again.
/// Same status, content type and length headers as <c>TypedResults.Json</c> would give.
/// </summary>
public sealed class JsonBytesResult(ReadOnlyMemory<byte> json, int statusCode = StatusCodes.Status200OK) : IResult
{
    public const string ContentType = "application/json; charset=utf-8";

    public int StatusCode => statusCode;

    public ReadOnlyMemory<byte> Json => json;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = ContentType;
        response.ContentLength = json.Length;
        var write = response.BodyWriter.WriteAsync(json, httpContext.RequestAborted);
        return write.IsCompletedSuccessfully ? Task.CompletedTask : write.AsTask();
    }
}
