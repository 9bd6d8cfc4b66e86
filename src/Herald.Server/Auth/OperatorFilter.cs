using Herald.Server.Api;

namespace Herald.Server.Auth;

/// <summary>
/// Operator-only endpoint groups: the credential is checked once, by a filter on the group, before any handler
/// runs; handlers read the caller with <see cref="Caller"/>.
/// </summary>
public static class OperatorFilter
{
    private static readonly object CallerKey = new();

    /// <summary>
    /// Requires an operator JWT (or, with <paramref name="allowService"/>, an API key; with <paramref name="allowAppUser"/>,
    /// an app user's token) on every endpoint of the group.
    /// </summary>
    public static RouteGroupBuilder RequireOperator(this RouteGroupBuilder group, bool allowService = false, bool allowAppUser = false) =>
        group.WithSecurity([ApiDocs.Operator, .. allowService ? [ApiDocs.ApiKey] : Array.Empty<string>(), .. allowAppUser ? [ApiDocs.AppToken] : Array.Empty<string>()])
        .AddEndpointFilter((invocation, next) =>
        {
            var context = invocation.HttpContext;
            var authentication = context.RequestServices.GetRequiredService<AccessService>().AuthenticateOperatorAsync(context, allowService, allowAppUser);
            // Not an async lambda: behind this filter a stream runs for hours, and an awaiting filter would keep
            // its state machine alive all that time. A known token is checked synchronously (TokenService caches it).
            return authentication.IsCompletedSuccessfully
                ? Continue(context, authentication.Result, invocation, next)
                : AuthenticateThenContinueAsync(context, authentication, invocation, next);
        });

    private static async ValueTask<object?> AuthenticateThenContinueAsync(HttpContext context, ValueTask<(Principal? Principal, ApiError? Error)> authentication,
        EndpointFilterInvocationContext invocation, EndpointFilterDelegate next) =>
        await Continue(context, await authentication, invocation, next);

    private static ValueTask<object?> Continue(HttpContext context, (Principal? Principal, ApiError? Error) authentication,
        EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        if (authentication.Error is not null)
        {
            return ValueTask.FromResult<object?>(authentication.Error);
        }

        context.Items[CallerKey] = authentication.Principal;
        return next(invocation);
    }

    /// <summary>The caller authenticated by <see cref="RequireOperator"/>.</summary>
    public static Principal Caller(this HttpContext context) =>
        context.Items[CallerKey] as Principal ?? throw new InvalidOperationException("The endpoint's group does not require an operator.");

    /// <summary>The operator's id, or null for a service.</summary>
    public static long? CallerOperatorId(this HttpContext context) => (context.Caller() as OperatorPrincipal)?.OperatorId;
}
