using Herald.Server.Auth;

namespace Herald.Server.Api;

/// <summary>
/// Operator-only endpoint groups: the credential is checked once, by a filter on the group, before any handler
/// runs; handlers read the caller with <see cref="Caller"/>.
/// </summary>
public static class OperatorFilter
{
    private static readonly object CallerKey = new();

    /// <summary>Requires an operator JWT (or, with <paramref name="allowService"/>, an API key) on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequireOperator(this RouteGroupBuilder group, bool allowService = false) =>
        group.AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var (principal, error) = await context.RequestServices.GetRequiredService<AccessService>().AuthenticateOperatorAsync(context, allowService);
            if (error is not null)
            {
                return error;
            }

            context.Items[CallerKey] = principal;
            return await next(invocation);
        });

    /// <summary>The caller authenticated by <see cref="RequireOperator"/>.</summary>
    public static Principal Caller(this HttpContext context) =>
        context.Items[CallerKey] as Principal ?? throw new InvalidOperationException("The endpoint's group does not require an operator.");

    /// <summary>The operator's id, or null for a service.</summary>
    public static long? CallerOperatorId(this HttpContext context) => (context.Caller() as OperatorPrincipal)?.OperatorId;
}
