using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Transports;
using Microsoft.Extensions.Options;

namespace Herald.Server.Dialogs;

/// <summary>
/// The chat API of seed 000: assistants, guest (widget) dialogs, operator dialogs, messages and the per-dialog
/// SSE stream. Guests authenticate with <c>assistant_id</c> + <c>guest_id</c>, operators with a JWT.
/// </summary>
public static class ChatEndpoints
{
    public static IEndpointRouteBuilder MapChatEndpoints(this IEndpointRouteBuilder app)
    {
        var operators = app.MapGroup("/api").WithTags("Chat").RequireOperator();
        operators.MapPost("/assistants", CreateAssistantAsync).WithJsonBody<CreateAssistantRequest>().Produces<AssistantDto>(StatusCodes.Status201Created).WithSummary("Create an assistant (operator).");
        operators.MapGet("/assistants", ListAssistantsAsync).Produces<IReadOnlyList<AssistantDto>>().WithSummary("List assistants (operator).");
        operators.MapGet("/dialogs", ListDialogsAsync).Produces<IReadOnlyList<DialogDto>>()
            .WithQuery(new ApiQuery("assistant_id", "Only this assistant's dialogs."), new ApiQuery("include_empty", "true adds dialogs nobody has written in."),
                new ApiQuery("status", "open (the default), resolved or all."), new ApiQuery("assignee", "me, none (unassigned) or an operator id; absent: anyone's."))
            .WithSummary("Dialogs with messages, latest message first; ?status=open|resolved|all (default open), ?assignee=me|none|{operator id}, ?include_empty=true adds dialogs nobody has written in (operator).");
        operators.MapGet("/events/admin", OperatorFeedAsync).ProducesEventStream().WithSummary("SSE stream of new_message and dialog_update for every dialog (operator).");

        // Dialog endpoints take an operator or the dialog's own guest (AuthorizeAsync below).
        var api = app.MapGroup("/api").WithTags("Chat").WithSecurity(ApiDocs.Operator, ApiDocs.Guest, ApiDocs.SiteToken);

        api.MapPost("/widget/dialogs", OpenGuestDialogAsync).Produces<DialogDto>().Produces<DialogDto>(StatusCodes.Status201Created).WithSummary("Create or return the guest's dialog (guest).");
        api.MapGet("/widget/dialogs/{id}/messages", ListMessagesAsync).Produces<IReadOnlyList<MessageDto>>().WithQuery(ApiDocs.AfterId, ApiDocs.Limit).WithSummary("Messages of the guest's dialog.");
        api.MapPost("/widget/dialogs/{id}/messages", PostMessageAsync).WithJsonBody<PostMessageRequest>().Produces<MessageDto>().Produces<MessageDto>(StatusCodes.Status201Created).WithSummary("Send a message as the guest (sender \"user\").");
        api.MapPost("/widget/dialogs/{id}/typing", TypingAsync).Produces(StatusCodes.Status202Accepted).WithSummary("Ephemeral typing indicator from the guest.");
        api.MapGet("/widget/dialogs/{id}/availability", AvailabilityAsync).Produces<Availability>()
            .WithSummary("Whether an operator is available now (signed in to the console on any node): {available} (guest).");
        api.MapGet("/widget/dialogs/{id}/events", StreamAsync).ProducesEventStream().WithQuery(ApiDocs.LastEventId).WithSummary("SSE stream of the guest's dialog (same as /api/dialogs/{id}/events).");

        api.MapGet("/dialogs/{id}", GetDialogAsync).Produces<DialogDto>().WithSummary("One dialog (operator or its guest).");
        api.MapGet("/dialogs/{id}/messages", ListMessagesAsync).Produces<IReadOnlyList<MessageDto>>().WithQuery(ApiDocs.AfterId, ApiDocs.Limit).WithSummary("Messages of a dialog, oldest first; ?after_id= for newer ones.");
        api.MapPost("/dialogs/{id}/messages", PostMessageAsync).WithJsonBody<PostMessageRequest>().Produces<MessageDto>().Produces<MessageDto>(StatusCodes.Status201Created).WithSummary("Send a message (operator: sender \"manager\").");
        api.MapPost("/dialogs/{id}/typing", TypingAsync).Produces(StatusCodes.Status202Accepted).WithSummary("Ephemeral typing indicator.");
        api.MapGet("/dialogs/{id}/events", StreamAsync).ProducesEventStream().WithQuery(ApiDocs.LastEventId).WithSummary("SSE stream of a dialog: retry, heartbeats, message events, Last-Event-ID resume.");
        api.MapGet("/dialogs/{id}/poll", PollAsync).Produces<PollResponse>().WithQuery(ApiDocs.AfterId, ApiDocs.Timeout).WithSummary("Long-poll a dialog: ?after_id=N&timeout=S (max 30).");
        api.MapGet("/widget/dialogs/{id}/poll", PollAsync).Produces<PollResponse>().WithQuery(ApiDocs.AfterId, ApiDocs.Timeout).WithSummary("Long-poll the guest's dialog.");
        api.MapPut("/dialogs/{id}/status", SetStatusAsync).WithJsonBody<DialogStatusRequest>().Produces<DialogDto>()
            .WithSummary("Resolve or reopen a dialog: {status: open|resolved}; announced as dialog_update (operator).");
        api.MapPut("/dialogs/{id}/assignee", AssignAsync).WithJsonBody<DialogAssigneeRequest>().Produces<DialogDto>()
            .WithSummary("Assign a dialog to an operator, {operator_id: N}, or unassign it, {operator_id: null}; announced as dialog_update (operator).");
        api.MapPost("/dialogs/{id}/read", MarkReadAsync).Produces<DialogDto>().WithSummary("Mark a dialog read (operator): unread_count = 0.");
        api.MapPost("/widget/dialogs/{id}/visitor", SetVisitorAsync).WithJsonBody<DialogVisitorRequest>().Produces<DialogVisitorDto>().WithSummary("Where the guest is: page_url and referrer (http/https), the browser from User-Agent (guest).");
        api.MapGet("/dialogs/{id}/visitor", GetVisitorAsync).Produces<DialogVisitorDto>().WithSummary("Where the dialog's visitor is: page_url, referrer, user_agent as the widget last said (operator).");

        var ws = app.MapGroup("/ws").WithTags("WebSocket").WithSecurity(ApiDocs.Operator, ApiDocs.Guest, ApiDocs.SiteToken).WithQuery(ApiDocs.LastEventId).ProducesWebSocket();
        ws.MapGet("/dialogs/{id}", (HttpContext c, string id, WebSocketTransport t) => t.DialogSocketAsync(c, id, WebSocketTransport.DialogSocketKind.Operator, DialogTopics.For));
        ws.MapGet("/widget/dialogs/{id}", (HttpContext c, string id, WebSocketTransport t) => t.DialogSocketAsync(c, id, WebSocketTransport.DialogSocketKind.Widget, DialogTopics.For));
        ws.MapGet("/site/dialogs/{id}", (HttpContext c, string id, WebSocketTransport t) => t.DialogSocketAsync(c, id, WebSocketTransport.DialogSocketKind.Site, DialogTopics.For));
        ws.MapGet("", (HttpContext c, WebSocketTransport t) => t.OperatorSocketAsync(c, DialogTopics.OperatorFeed));
        return app;
    }

    private static async Task<IResult> CreateAssistantAsync(HttpContext context, RequestReader reader, EventHub hub)
    {
        var (body, error) = await reader.ReadJsonAsync<CreateAssistantRequest>(context);
        if (error is not null)
        {
            return error;
        }

        var name = body!.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 200 || !TextRules.IsWellFormedUtf16(name) || name.Any(char.IsControl))
        {
            return ApiError.BadRequest(string.IsNullOrEmpty(name) ? ErrorCodes.MissingField : ErrorCodes.InvalidField,
                "'name' is required: 1-200 printable characters.");
        }

        var assistant = await hub.ExecuteAsync(new CreateAssistantCommand(name, context.CallerOperatorId()), context.RequestAborted);
        return TypedResults.Json(AssistantDto.From(assistant), HeraldJson.Options, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAssistantsAsync(HttpContext context, SqlStore store)
    {
        var assistants = await store.ListAssistantsAsync(context.RequestAborted);
        return TypedResults.Json(assistants.Select(AssistantDto.From), HeraldJson.Options);
    }

    private static async Task<IResult> OpenGuestDialogAsync(HttpContext context, AccessService access, EventHub hub, SqlStore store, RateLimits limits)
    {
        var (principal, authError) = await access.AuthenticateWidgetAsync(context);
        if (authError is not null)
        {
            return authError;
        }

        var guest = (GuestPrincipal)principal!;
        // A returning visitor (every page view asks) gets its dialog with one read: no write, and no count against
        // the limits, which are for new dialogs only.
        if (await store.FindGuestDialogAsync(guest.AssistantId, guest.GuestId, context.RequestAborted) is { } existing)
        {
            return TypedResults.Json(DialogDto.From(existing), HeraldJson.Options);
        }

        if (limits.TryOpenDialog(context, guest.AssistantId) is { } limited)
        {
            return limited;
        }

        var (dialog, created) = await hub.ExecuteAsync(new GetOrCreateGuestDialogCommand(guest.AssistantId, guest.GuestId), context.RequestAborted);
        var dto = DialogDto.From(dialog);
        return created ? TypedResults.Json(dto, HeraldJson.Options, statusCode: StatusCodes.Status201Created) : TypedResults.Json(dto, HeraldJson.Options);
    }

    private static async Task<IResult> ListDialogsAsync(HttpContext context, SqlStore store, IOptions<HeraldOptions> options)
    {
        long? assistantId = null;
        if (context.Request.Query.ContainsKey("assistant_id"))
        {
            var (id, idError) = RequestReader.ParseId(context.Request.Query["assistant_id"], "assistant_id");
            if (idError is not null)
            {
                return idError;
            }

            assistantId = id;
        }

        var includeEmpty = false;
        if (context.Request.Query.TryGetValue("include_empty", out var rawInclude) && !bool.TryParse(rawInclude, out includeEmpty))
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'include_empty' is true or false.");
        }

        // A team works the open dialogs: that is the default list; ?status=all is everything.
        string? status = DialogStatus.Open;
        if (context.Request.Query.TryGetValue("status", out var rawStatus))
        {
            status = rawStatus.ToString();
            if (status == "all")
            {
                status = null;
            }
            else if (!DialogStatus.IsKnown(status))
            {
                return ApiError.BadRequest(ErrorCodes.InvalidField, "'status' is open, resolved or all.");
            }
        }

        long? assigneeId = null;
        var unassigned = false;
        if (context.Request.Query.TryGetValue("assignee", out var rawAssignee))
        {
            switch (rawAssignee.ToString())
            {
                case "none":
                    unassigned = true;
                    break;
                case "me" when context.CallerOperatorId() is { } me:
                    assigneeId = me;
                    break;
                case "me":
                    return ApiError.BadRequest(ErrorCodes.InvalidField, "'assignee=me' needs an operator's token.");
                case var raw:
                    if (!long.TryParse(raw, System.Globalization.NumberStyles.None, null, out var id) || id <= 0)
                    {
                        return ApiError.BadRequest(ErrorCodes.InvalidField, "'assignee' is me, none or an operator id.");
                    }

                    assigneeId = id;
                    break;
            }
        }

        var filter = new DialogFilter(assistantId, includeEmpty, status, assigneeId, unassigned);
        var dialogs = await store.ListDialogsAsync(filter, options.Value.Chat.MaxHistoryPage, context.RequestAborted);
        return TypedResults.Json(dialogs.Select(DialogDto.From), HeraldJson.Options);
    }

    private static async Task<IResult> GetDialogAsync(HttpContext context, AccessService access, SqlStore store, string id)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return error;
        }

        // Authorisation knows only the owner; the counters and last message are read fresh.
        var dialog = await store.GetDialogAsync(target!.Value.Dialog.Id, context.RequestAborted);
        return dialog is null ? ApiError.NotFound($"Dialog {id} does not exist.") : TypedResults.Json(DialogDto.From(dialog), HeraldJson.Options);
    }

    private static async Task<IResult> ListMessagesAsync(HttpContext context, string id, AccessService access, SqlStore store, IOptions<HeraldOptions> options)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return error;
        }

        var (afterId, afterError) = RequestReader.ParseOptionalPosition(context.Request.Query["after_id"], "after_id");
        if (afterError is not null)
        {
            return afterError;
        }

        var limit = options.Value.Chat.MaxHistoryPage;
        if (context.Request.Query.ContainsKey("limit"))
        {
            var (requested, limitError) = RequestReader.ParseId(context.Request.Query["limit"], "limit");
            if (limitError is not null)
            {
                return limitError;
            }

            limit = (int)Math.Min(requested, limit);
        }

        var messages = await store.ListMessagesAsync(target!.Value.Dialog.Id, afterId, limit, context.RequestAborted);
        return TypedResults.Json(messages.Select(MessageDto.From), HeraldJson.Options);
    }

    private static async Task<IResult> PostMessageAsync(HttpContext context, string id, AccessService access, RequestReader reader, EventHub hub, SqlStore store,
        IOptions<HeraldOptions> options, RateLimits limits, [FromKeyedServices(ChatLog.Category)] ILogger log)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return error;
        }

        if (limits.TryPost(context, target!.Value.Principal is GuestPrincipal g ? $"{g.AssistantId}/{g.GuestId}" : null) is { } limited)
        {
            return limited;
        }

        var (body, bodyError) = await reader.ReadJsonAsync<PostMessageRequest>(context);
        if (bodyError is not null)
        {
            return bodyError;
        }

        var (principal, dialog) = target!.Value;
        var sender = principal is GuestPrincipal ? "user" : "manager";
        if (body!.Sender is { } requested && requested != sender)
        {
            return principal is GuestPrincipal
                ? ApiError.Forbidden("A guest can only send messages as sender \"user\".")
                : ApiError.BadRequest(ErrorCodes.InvalidField, "Operators send as sender \"manager\"; omit 'sender'.");
        }

        if (TextRules.ValidateMessageText(body.Text, options.Value.Chat.MaxMessageLength) is { } textError)
        {
            return textError;
        }

        if (body.ClientMessageId is { } clientId && (clientId.Length is 0 or > 64 || !clientId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'client_message_id' is 1-64 characters of letters, digits, '-' and '_'.");
        }

        // An operator's message carries who wrote it and the name the visitor sees (their display name, never the email).
        long? authorId = null;
        string? authorName = null;
        if (principal is OperatorPrincipal author)
        {
            authorId = author.OperatorId;
            authorName = await store.GetOperatorAsync(author.OperatorId, context.RequestAborted) is { } account ? OperatorAccountRules.DisplayNameOf(account) : null;
        }

        var command = new PostMessageCommand(dialog.Id, sender, body.Text!, body.ClientMessageId, authorId, authorName);
        var message = await hub.ExecuteAsync(command, context.RequestAborted);
        if (command.WasDuplicate)
        {
            // A retry of a POST that already succeeded: same message, no second event.
            return TypedResults.Json(MessageDto.From(message), HeraldJson.Options);
        }

        ChatLog.MessagePublished(log, sender, dialog.Id, message.Id);
        // The message:new event's message object, already encoded on the writer: the same JSON as MessageDto's.
        return new JsonBytesResult(command.MessageJson, StatusCodes.Status201Created);
    }

    private static async Task<IResult> TypingAsync(HttpContext context, string id, AccessService access, EventHub hub, RateLimits limits)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return error;
        }

        if (limits.TryPost(context, target!.Value.Principal is GuestPrincipal g ? $"{g.AssistantId}/{g.GuestId}" : null) is { } limited)
        {
            return limited;
        }

        var (principal, dialog) = target!.Value;
        var sender = principal is GuestPrincipal ? "user" : "manager";
        var data = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { type = "typing", dialog_id = dialog.Id, sender }, HeraldJson.Options);
        hub.PublishEphemeral(DialogTopics.For(dialog.Id), "typing", data);
        return TypedResults.Accepted((string?)null);
    }

    // "Online" in the widget means an operator is there to answer, not that the widget's connection is up (issue 19,
    // item 8): an operator is available while a console holds the operators' feed open, on any node.
    private static async Task<IResult> AvailabilityAsync(HttpContext context, string id, AccessService access, Hub.PresenceService presence)
    {
        var (_, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return error;
        }

        var feed = await presence.CachedTopicAsync(DialogTopics.OperatorFeed);
        return TypedResults.Json(new Availability(feed.Keys.Any(k => k.StartsWith("operator:", StringComparison.Ordinal))), HeraldJson.Options);
    }

    private static async Task StreamAsync(HttpContext context, string id, AccessService access, SseTransport sse)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            await error.ExecuteAsync(context);
            return;
        }

        var (principal, dialog) = target!.Value;
        await sse.StreamAsync(context, new StreamRequest([DialogTopics.For(dialog.Id)], SseTransport.ResumePosition(context.Request),
            $"dialog {dialog.Id} ({principal.Kind})", principal));
    }

    private static async Task PollAsync(HttpContext context, string id, AccessService access, LongPollTransport poll)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            await error.ExecuteAsync(context);
            return;
        }

        var (principal, dialog) = target!.Value;
        await poll.PollAsync(context, [DialogTopics.For(dialog.Id)], $"dialog {dialog.Id} ({principal.Kind})", principal);
    }

    private static async Task<IResult> MarkReadAsync(HttpContext context, string id, AccessService access, EventHub hub)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return error;
        }

        if (target!.Value.Principal is not OperatorPrincipal)
        {
            return ApiError.Forbidden("Only operators mark dialogs read.");
        }

        var dialog = await hub.ExecuteAsync(new MarkDialogReadCommand(target.Value.Dialog.Id), context.RequestAborted);
        return TypedResults.Json(DialogDto.From(dialog), HeraldJson.Options);
    }

    private static async Task<IResult> SetStatusAsync(HttpContext context, string id, AccessService access, RequestReader reader, EventHub hub)
    {
        var (target, error) = await AuthorizeOperatorAsync(context, id, access, "Only operators resolve or reopen dialogs.");
        if (error is not null)
        {
            return error;
        }

        var (body, bodyError) = await reader.ReadJsonAsync<DialogStatusRequest>(context);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (!DialogStatus.IsKnown(body!.Status))
        {
            return ApiError.BadRequest(string.IsNullOrEmpty(body.Status) ? ErrorCodes.MissingField : ErrorCodes.InvalidField, "'status' is open or resolved.");
        }

        var dialog = await hub.ExecuteAsync(new SetDialogStatusCommand(target!.Id, body.Status!), context.RequestAborted);
        return TypedResults.Json(DialogDto.From(dialog), HeraldJson.Options);
    }

    private static async Task<IResult> AssignAsync(HttpContext context, string id, AccessService access, RequestReader reader, EventHub hub)
    {
        var (target, error) = await AuthorizeOperatorAsync(context, id, access, "Only operators assign dialogs.");
        if (error is not null)
        {
            return error;
        }

        var (body, bodyError) = await reader.ReadJsonAsync<DialogAssigneeRequest>(context);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (body!.OperatorId is <= 0)
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'operator_id' is an operator id or null.");
        }

        try
        {
            var dialog = await hub.ExecuteAsync(new AssignDialogCommand(target!.Id, body.OperatorId), context.RequestAborted);
            return TypedResults.Json(DialogDto.From(dialog), HeraldJson.Options);
        }
        catch (StoreValidationException ex) when (ex.Code == ErrorCodes.InvalidField)
        {
            return ApiError.BadRequest(ex.Code, ex.Message);
        }
    }

    /// <summary>The dialog, when the caller is an operator (a guest, a site or an API key: 403); 404 when it does not exist.</summary>
    private static async Task<(DialogOwner? Dialog, ApiError? Error)> AuthorizeOperatorAsync(HttpContext context, string id, AccessService access, string forbidden)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return (null, error);
        }

        return target!.Value.Principal is OperatorPrincipal ? (target.Value.Dialog, null) : (null, ApiError.Forbidden(forbidden));
    }

    // Addresses as browsers give them (location.href, document.referrer) rarely pass 2 KB; a User-Agent is cut, not refused.
    private const int MaxVisitorUrlLength = 2048;
    private const int MaxUserAgentLength = 512;

    private static async Task<IResult> SetVisitorAsync(HttpContext context, string id, AccessService access, RequestReader reader, EventHub hub, RateLimits limits)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return error;
        }

        if (target!.Value.Principal is not GuestPrincipal guest)
        {
            return ApiError.Forbidden("Only the dialog's visitor says where they are.");
        }

        if (limits.TryPost(context, $"{guest.AssistantId}/{guest.GuestId}") is { } limited)
        {
            return limited;
        }

        var (body, bodyError) = await reader.ReadJsonAsync<DialogVisitorRequest>(context);
        if (bodyError is not null)
        {
            return bodyError;
        }

        var (pageUrl, pageError) = VisitorUrl(body!.PageUrl, "page_url");
        var (referrer, referrerError) = VisitorUrl(body.Referrer, "referrer");
        if ((pageError ?? referrerError) is { } urlError)
        {
            return urlError;
        }

        var userAgent = context.Request.Headers.UserAgent.ToString();
        userAgent = new string(userAgent.Where(c => !char.IsControl(c)).Take(MaxUserAgentLength).ToArray());
        var visitor = await hub.ExecuteAsync(new SetDialogVisitorCommand(target.Value.Dialog.Id, pageUrl, referrer, userAgent.Length == 0 ? null : userAgent),
            context.RequestAborted);
        return TypedResults.Json(DialogVisitorDto.From(visitor), HeraldJson.Options);
    }

    /// <summary>An absolute http(s) address of at most 2 KB, or nothing ("" is what document.referrer is without one).</summary>
    private static (string? Url, ApiError? Error) VisitorUrl(string? value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            return (null, null);
        }

        if (value.Length > MaxVisitorUrlLength || !TextRules.IsWellFormedUtf16(value) || value.Any(char.IsControl)
            || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return (null, ApiError.BadRequest(ErrorCodes.InvalidField, $"'{field}' is an absolute http or https address of at most {MaxVisitorUrlLength} characters."));
        }

        return (value, null);
    }

    private static async Task<IResult> GetVisitorAsync(HttpContext context, string id, AccessService access, SqlStore store)
    {
        var (target, error) = await AuthorizeAsync(context, id, access);
        if (error is not null)
        {
            return error;
        }

        if (target!.Value.Principal is not OperatorPrincipal)
        {
            return ApiError.Forbidden("Only operators read where a visitor is.");
        }

        var dialogId = target.Value.Dialog.Id;
        var visitor = await store.GetDialogVisitorAsync(dialogId, context.RequestAborted);
        return TypedResults.Json(visitor is null ? DialogVisitorDto.Unknown(dialogId) : DialogVisitorDto.From(visitor), HeraldJson.Options);
    }

    private static async Task OperatorFeedAsync(HttpContext context, SseTransport sse)
    {
        await sse.StreamAsync(context, new StreamRequest([DialogTopics.OperatorFeed], SseTransport.ResumePosition(context.Request),
            $"operator feed ({context.Caller().Kind})", context.Caller()));
    }

    private static async ValueTask<((Principal Principal, DialogOwner Dialog)? Target, ApiError? Error)> AuthorizeAsync(HttpContext context, string rawId, AccessService access)
    {
        var (dialogId, idError) = RequestReader.ParseId(rawId, "id");
        if (idError is not null)
        {
            return (null, idError);
        }

        var (principal, authError) = await access.AuthenticateAsync(context);
        if (authError is not null)
        {
            return (null, authError);
        }

        var (dialog, error) = await access.AuthorizeDialogAsync(principal!, dialogId, context.RequestAborted);
        return error is not null ? (null, error) : ((principal!, dialog!), null);
    }
}
