using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>
/// The team, for the console (issue 19, item 10): who the operators are (to assign a dialog and to show who has it)
/// and the caller's own display name, the only thing of an operator a visitor sees.
/// </summary>
public static class OperatorEndpoints
{
    public static IEndpointRouteBuilder MapOperatorEndpoints(this IEndpointRouteBuilder app)
    {
        var operators = app.MapGroup("/api/operators").WithTags("Chat").RequireOperator();
        operators.MapGet("", ListAsync).Produces<IReadOnlyList<OperatorDto>>().WithSummary("The operators: id, email, display_name (operator).");
        operators.MapGet("/me", GetMeAsync).Produces<OperatorDto>().WithSummary("The calling operator: id, email, display_name (operator).");
        operators.MapPut("/me", SetMeAsync).WithJsonBody<OperatorProfileRequest>().Produces<OperatorDto>()
            .WithSummary("Set the calling operator's display_name, the name visitors see on their messages (operator).");
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext context, SqlStore store)
    {
        var operators = await store.ListOperatorsAsync(context.RequestAborted);
        return TypedResults.Json(operators.Select(OperatorDto.From), HeraldJson.Options);
    }

    private static async Task<IResult> GetMeAsync(HttpContext context, SqlStore store)
    {
        if (context.Caller() is not OperatorPrincipal caller)
        {
            return ApiError.Forbidden("Only an operator's token has a profile.");
        }

        var account = await store.GetOperatorAsync(caller.OperatorId, context.RequestAborted);
        return account is null ? ApiError.NotFound($"Operator {caller.OperatorId} no longer exists.") : TypedResults.Json(OperatorDto.From(account), HeraldJson.Options);
    }

    private static async Task<IResult> SetMeAsync(HttpContext context, RequestReader reader, EventHub hub)
    {
        if (context.Caller() is not OperatorPrincipal caller)
        {
            return ApiError.Forbidden("Only an operator's token has a profile.");
        }

        var (body, error) = await reader.ReadJsonAsync<OperatorProfileRequest>(context);
        if (error is not null)
        {
            return error;
        }

        var name = body!.DisplayName?.Trim();
        if (OperatorAccountRules.DisplayNameProblem(name) is { } problem)
        {
            return ApiError.BadRequest(string.IsNullOrEmpty(name) ? ErrorCodes.MissingField : ErrorCodes.InvalidField, $"'display_name': {problem}.");
        }

        try
        {
            var account = await hub.ExecuteAsync(new SetOperatorDisplayNameCommand(caller.OperatorId, name), context.RequestAborted);
            return TypedResults.Json(OperatorDto.From(account), HeraldJson.Options);
        }
        catch (StoreValidationException ex) when (ex.Code == ErrorCodes.NotFound)
        {
            return ApiError.NotFound(ex.Message);
        }
    }
}
