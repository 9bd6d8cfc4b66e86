using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

public static class AuthEndpoints
{
    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/auth/login", LoginAsync).WithJsonBody<LoginRequest>().Produces<LoginResponse>().WithTags("Auth").WithSummary("Exchange {email, password} for an operator JWT.");
        return app;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, RequestReader reader, SqlStore store, TokenService tokens, OperatorPasswords passwords, RateLimits limits)
    {
        if (limits.TryLogin(context) is { } limited)
        {
            return limited;
        }

        var (body, error) = await reader.ReadJsonAsync<LoginRequest>(context);
        if (error is not null)
        {
            return error;
        }

        if (string.IsNullOrWhiteSpace(body!.Email) || string.IsNullOrEmpty(body.Password))
        {
            return ApiError.BadRequest(ErrorCodes.MissingField, "'email' and 'password' are required.");
        }

        var account = body.Email.Length <= OperatorAccountRules.MaxEmailLength
            ? await store.FindOperatorByEmailAsync(OperatorAccountRules.NormalizeEmail(body.Email), context.RequestAborted)
            : null;
        // Unknown email and wrong password take the same path and the same time (a hash is verified either way).
        if (!passwords.Verify(account, body.Password))
        {
            return new ApiError(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidCredentials, "Wrong email or password.");
        }

        var token = tokens.Issue(account!.Id);
        return TypedResults.Json(new LoginResponse(token, "bearer", (long)tokens.Lifetime.TotalSeconds), HeraldJson.Options);
    }
}
