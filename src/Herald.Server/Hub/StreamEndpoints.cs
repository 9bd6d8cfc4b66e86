using Herald.Server.Api;
using Herald.Server.Auth;

namespace Herald.Server.Hub;

/// <summary>Endpoints about open streams rather than any one transport.</summary>
public static class StreamEndpoints
{
    public static IEndpointRouteBuilder MapStreamEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/streams/{connectionId}/auth", RefreshStreamAsync).WithTags("Auth").WithSecurity(ApiDocs.Operator, ApiDocs.AppToken).Produces<StreamAuthResponse>()
            .WithSummary("Present a fresh token (Bearer: operator, or app token of the same sub granting the stream's topics) for an open stream after its auth-expiring event.");
        return app;
    }

    private static async Task<IResult> RefreshStreamAsync(HttpContext context, string connectionId, AccessService access, StreamHost host)
    {
        var (principal, error) = await access.AuthenticateOperatorAsync(context, allowAppUser: true);
        if (error is not null)
        {
            return error;
        }

        // Unknown and foreign connections get the same answer: a connection id reveals nothing by itself.
        var lease = connectionId.Length == 32 ? host.FindLease(connectionId) : null;
        if (lease is null || !lease.Refresh(principal!))
        {
            return ApiError.NotFound("No open stream of yours has this connection id.");
        }

        return TypedResults.Json(new StreamAuthResponse(lease.ConnectionId, HeraldJson.FormatTime(lease.ExpiresAt.ToUnixTimeMilliseconds())), HeraldJson.Options);
    }

    /// <summary>The stream's new expiry after a fresh token.</summary>
    private sealed record StreamAuthResponse(string ConnectionId, string ExpiresAt);
}
