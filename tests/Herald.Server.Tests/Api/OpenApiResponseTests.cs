using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Server.Tests.Mercure;
using Herald.Testing;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Herald.Server.Tests.Api;

/// <summary>
/// What /openapi/v1.json says each route answers on success is what it answers: every endpoint of the running node
/// (from its <see cref="EndpointDataSource"/>, so a route added later is included without anyone listing it) must
/// document a success status with a schema or media type, and must be called here with a valid request whose answer
/// has a documented status, the documented media type, and a JSON body that validates against the documented schema.
/// A new route fails both tests until it has <c>.Produces&lt;T&gt;(status)</c> (docs/api.md) and a line in <see cref="Calls"/>.
/// </summary>
public sealed class OpenApiResponseTests : IAsyncLifetime
{
    private const string ApiKey = "openapi-response-test-key-0123456789";
    private const string Shop = "shop.example.com";

    private HeraldTestNode _node = null!;
    private JsonElement _doc;
    private HttpClient _operator = null!;
    private HttpClient _service = null!;
    private string _token = null!;
    private Guest _guest = null!;
    private string _siteToken = null!;

    public async Task InitializeAsync()
    {
        _node = await HeraldTestNode.StartInProcessAsync([
            .. MercureHubTests.Settings(),
            new("Herald:Auth:ApiKeys:0", ApiKey),
            // Every token-authorised stream is warned of its expiry at once: the refresh route needs a connection id.
            new("Herald:Streams:AuthWarningLead", "1.00:00:00"),
        ]);
        _doc = await _node.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        _token = await _node.LoginAsync();
        _operator = await _node.OperatorClientAsync();
        _service = new HttpClient { BaseAddress = _node.BaseAddress };
        _service.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        _guest = await _node.OpenGuestDialogAsync("openapi-guest");
        using (var domains = await _operator.PutAsJsonAsync($"/api/assistants/{_guest.AssistantId}/domains", new { allowed_domains = new[] { Shop } }))
        {
            domains.EnsureSuccessStatusCode();
        }

        _siteToken = (await IssueWidgetTokenAsync()).GetProperty("token").GetString()!;
        await _node.PostGuestMessageAsync(_guest, "hello");
    }

    public async Task DisposeAsync()
    {
        _operator.Dispose();
        _service.Dispose();
        await _node.DisposeAsync();
    }

    [Fact]
    public void EveryEndpoint_DocumentsItsSuccessAnswer()
    {
        var failures = new List<string>();
        var calls = Calls();
        foreach (var (method, path) in Endpoints())
        {
            var route = $"{method} {path}";
            if (!calls.ContainsKey(route))
            {
                failures.Add($"{route}: no valid request in OpenApiResponseTests.Calls");
            }

            if (Operation(method, path) is not { } operation)
            {
                failures.Add($"{route}: not in /openapi/v1.json (describe it, or ExcludeFromDescription if it is not API)");
                continue;
            }

            var successes = Successes(operation).ToList();
            if (successes.Count == 0)
            {
                failures.Add($"{route}: no success response (.Produces<T>(status), ProducesEventStream or ProducesWebSocket)");
            }

            foreach (var (status, content) in successes)
            {
                if (content is null)
                {
                    // Only answers that have no body may go without content.
                    if (status is not ("101" or "202" or "204"))
                    {
                        failures.Add($"{route}: {status} has no content");
                    }

                    continue;
                }

                foreach (var media in content.Value.EnumerateObject())
                {
                    if (!media.Value.TryGetProperty("schema", out var schema))
                    {
                        failures.Add($"{route}: {status} {media.Name} has no schema");
                    }
                    else if (media.Name == "application/json" && !DescribesFields(Resolve(schema)))
                    {
                        failures.Add($"{route}: {status} JSON schema names no fields or items: {schema}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task EveryRoute_AnswersWhatItDocuments()
    {
        var failures = new List<string>();
        var calls = Calls();
        var endpoints = Endpoints().ToList();
        Assert.True(endpoints.Count > 40, $"only {endpoints.Count} endpoints found");
        foreach (var (method, path) in endpoints)
        {
            var route = $"{method} {path}";
            if (!calls.TryGetValue(route, out var call) || Operation(method, path) is not { } operation)
            {
                continue; // The test above names it.
            }

            var answer = await call();
            var documented = Successes(operation).ToDictionary(s => s.Status, s => s.Content);
            if (!documented.TryGetValue(answer.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var content))
            {
                failures.Add($"{route}: answered {answer.Status}, documented {string.Join(", ", documented.Keys)}: {answer.Body}");
                continue;
            }

            if (content is null)
            {
                if (answer.Body.Length > 0)
                {
                    failures.Add($"{route}: {answer.Status} documents no body but answered {answer.MediaType}: {answer.Body}");
                }

                continue;
            }

            if (answer.MediaType is null || !content.Value.TryGetProperty(answer.MediaType, out var media))
            {
                failures.Add($"{route}: answered {answer.MediaType ?? "no body"}, documented {string.Join(", ", content.Value.EnumerateObject().Select(m => m.Name))}");
                continue;
            }

            if (answer.MediaType == "application/json")
            {
                var errors = new List<string>();
                Validate(JsonDocument.Parse(answer.Body).RootElement, media.GetProperty("schema"), "$", errors);
                failures.AddRange(errors.Select(e => $"{route}: {e} in {answer.Body}"));
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures) + _node.ServerErrors());
    }

    /// <summary>A valid request for every route, keyed "METHOD /path" as in /openapi/v1.json.</summary>
    private Dictionary<string, Func<Task<Answer>>> Calls()
    {
        var d = _guest.DialogId;
        var q = _guest.Query;
        return new()
        {
            ["POST /api/auth/login"] = () => Send(_node.Client, HttpMethod.Post, "/api/auth/login", new { email = HeraldTestNode.AdminEmail, password = HeraldTestNode.AdminPassword }),
            ["POST /api/streams/{connectionId}/auth"] = RefreshStreamAsync,
            ["POST /api/validate-widget-token"] = () => Send(_node.Client, HttpMethod.Post, "/api/validate-widget-token", new { token = _siteToken, domain = Shop }),
            ["POST /api/widgets"] = () => Send(_operator, HttpMethod.Post, "/api/widgets", new { assistant_id = _guest.AssistantId }),
            ["GET /api/widgets"] = () => Send(_operator, HttpMethod.Get, $"/api/widgets?assistant_id={_guest.AssistantId}"),
            ["POST /api/widgets/{id}/revoke"] = async () => await Send(_operator, HttpMethod.Post, $"/api/widgets/{(await IssueWidgetTokenAsync()).GetProperty("id")}/revoke"),
            ["POST /api/widgets/{id}/rotate"] = async () => await Send(_operator, HttpMethod.Post, $"/api/widgets/{(await IssueWidgetTokenAsync()).GetProperty("id")}/rotate"),
            ["PUT /api/assistants/{id}/domains"] = () => Send(_operator, HttpMethod.Put, $"/api/assistants/{_guest.AssistantId}/domains", new { allowed_domains = new[] { Shop } }),
            ["PUT /api/assistants/{id}/identity"] = () => Send(_operator, HttpMethod.Put, $"/api/assistants/{_guest.AssistantId}/identity", new { require_verified_identity = false }),
            ["POST /api/assistants"] = () => Send(_operator, HttpMethod.Post, "/api/assistants", new { name = "Docs" }),
            ["GET /api/assistants"] = () => Send(_operator, HttpMethod.Get, "/api/assistants"),
            ["GET /api/dialogs"] = () => Send(_operator, HttpMethod.Get, "/api/dialogs?include_empty=true"),
            ["GET /api/events/admin"] = () => StreamAsync(_operator, "/api/events/admin"),
            ["POST /api/widget/dialogs"] = () => Send(_node.Client, HttpMethod.Post, $"/api/widget/dialogs?{q}"),
            ["GET /api/widget/dialogs/{id}/messages"] = () => Send(_node.Client, HttpMethod.Get, $"/api/widget/dialogs/{d}/messages?{q}"),
            ["POST /api/widget/dialogs/{id}/messages"] = () => Send(_node.Client, HttpMethod.Post, $"/api/widget/dialogs/{d}/messages?{q}", new { text = "from the guest" }),
            ["POST /api/widget/dialogs/{id}/typing"] = () => Send(_node.Client, HttpMethod.Post, $"/api/widget/dialogs/{d}/typing?{q}"),
            ["GET /api/widget/dialogs/{id}/availability"] = () => Send(_node.Client, HttpMethod.Get, $"/api/widget/dialogs/{d}/availability?{q}"),
            ["GET /api/widget/dialogs/{id}/events"] = () => StreamAsync(_node.Client, $"/api/widget/dialogs/{d}/events?{q}"),
            ["GET /api/widget/dialogs/{id}/poll"] = () => Send(_node.Client, HttpMethod.Get, $"/api/widget/dialogs/{d}/poll?{q}&after_id=0&timeout=0"),
            ["POST /api/widget/dialogs/{id}/visitor"] = () => Send(_node.Client, HttpMethod.Post, $"/api/widget/dialogs/{d}/visitor?{q}", new { page_url = $"https://{Shop}/cart", referrer = "" }),
            ["GET /api/dialogs/{id}"] = () => Send(_operator, HttpMethod.Get, $"/api/dialogs/{d}"),
            ["GET /api/dialogs/{id}/messages"] = () => Send(_operator, HttpMethod.Get, $"/api/dialogs/{d}/messages?limit=10"),
            ["POST /api/dialogs/{id}/messages"] = () => Send(_operator, HttpMethod.Post, $"/api/dialogs/{d}/messages", new { text = "from the operator" }),
            ["POST /api/dialogs/{id}/typing"] = () => Send(_operator, HttpMethod.Post, $"/api/dialogs/{d}/typing"),
            ["GET /api/dialogs/{id}/events"] = () => StreamAsync(_operator, $"/api/dialogs/{d}/events"),
            ["GET /api/dialogs/{id}/poll"] = () => Send(_operator, HttpMethod.Get, $"/api/dialogs/{d}/poll?after_id=0&timeout=0"),
            ["PUT /api/dialogs/{id}/status"] = () => Send(_operator, HttpMethod.Put, $"/api/dialogs/{d}/status", new { status = "open" }),
            ["PUT /api/dialogs/{id}/assignee"] = () => Send(_operator, HttpMethod.Put, $"/api/dialogs/{d}/assignee", new { operator_id = (long?)null }),
            ["GET /api/operators"] = () => Send(_operator, HttpMethod.Get, "/api/operators"),
            ["GET /api/operators/me"] = () => Send(_operator, HttpMethod.Get, "/api/operators/me"),
            ["PUT /api/operators/me"] = () => Send(_operator, HttpMethod.Put, "/api/operators/me", new { display_name = "Docs Admin" }),
            ["POST /api/dialogs/{id}/read"] = () => Send(_operator, HttpMethod.Post, $"/api/dialogs/{d}/read"),
            ["GET /api/dialogs/{id}/visitor"] = () => Send(_operator, HttpMethod.Get, $"/api/dialogs/{d}/visitor"),
            ["GET /ws/dialogs/{id}"] = () => SocketAsync($"/ws/dialogs/{d}?token={_token}"),
            ["GET /ws/widget/dialogs/{id}"] = () => SocketAsync($"/ws/widget/dialogs/{d}?{q}"),
            ["GET /ws/site/dialogs/{id}"] = () => SocketAsync($"/ws/site/dialogs/{d}?site_token={_siteToken}&guest_id={_guest.GuestId}", $"https://{Shop}"),
            ["GET /ws"] = () => SocketAsync($"/ws?token={_token}"),
            ["GET /ws/topics"] = () => SocketAsync($"/ws/topics?topic=news&token={_token}"),
            ["POST /api/publish"] = () => Send(_operator, HttpMethod.Post, "/api/publish", new { topic = "news", @event = "update", data = new { n = 1 } }),
            ["GET /api/poll"] = () => Send(_service, HttpMethod.Get, "/api/poll?topic=news&after_id=0&timeout=0"),
            ["GET /api/events"] = () => StreamAsync(_service, "/api/events?topic=news"),
            ["POST /api/broadcast"] = () => Send(_service, HttpMethod.Post, "/api/broadcast", new { topics = new[] { "news", "sport" }, @event = "update", data = new { n = 2 } }),
            ["GET /api/topics/{topic}/presence"] = () => Send(_service, HttpMethod.Get, "/api/topics/news/presence"),
            ["GET /api/topics"] = () => Send(_service, HttpMethod.Get, "/api/topics?limit=10"),
            ["GET /api/nodes"] = () => Send(_service, HttpMethod.Get, "/api/nodes"),
            ["POST /api/disconnect"] = () => Send(_service, HttpMethod.Post, "/api/disconnect", new { kind = "user", id = "nobody" }),
            ["GET /api/sse/health"] = () => Send(_node.Client, HttpMethod.Get, "/api/sse/health"),
            // Without a credential: by_topic is left out, which the schema must allow.
            ["GET /api/sse/stats"] = () => Send(_node.Client, HttpMethod.Get, "/api/sse/stats"),
            ["GET /.well-known/mercure"] = () => StreamAsync(_node.Client, "/.well-known/mercure?topic=urn:docs"),
            ["POST /.well-known/mercure"] = MercurePublishAsync,
        };
    }

    private sealed record Answer(int Status, string? MediaType, string Body);

    private static async Task<Answer> Send(HttpClient client, HttpMethod method, string url, object? body = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await client.SendAsync(request);
        return new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    /// <summary>An SSE answer's status and media type; the stream itself is the transport tests' subject.</summary>
    private static async Task<Answer> StreamAsync(HttpClient client, string url)
    {
        await using var sse = await SseTestClient.ConnectAsync(client, url);
        return new Answer((int)sse.Response.StatusCode, sse.Response.Content.Headers.ContentType?.MediaType, "");
    }

    private async Task<Answer> SocketAsync(string pathAndQuery, string? origin = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new Uri($"ws://{_node.BaseAddress.Authority}{pathAndQuery}"), timeout.Token);
        var status = (int)socket.HttpStatusCode;
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        return new Answer(status, null, "");
    }

    private async Task<Answer> RefreshStreamAsync()
    {
        await using var sse = await SseTestClient.ConnectAsync(_operator, "/api/events/admin");
        var warning = await sse.NextAsync();
        while (warning.EventType != "auth-expiring")
        {
            warning = await sse.NextAsync();
        }

        var connectionId = JsonDocument.Parse(warning.Data).RootElement.GetProperty("connection_id").GetString();
        return await Send(_operator, HttpMethod.Post, $"/api/streams/{connectionId}/auth");
    }

    private async Task<Answer> MercurePublishAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.well-known/mercure")
        {
            Content = new FormUrlEncodedContent([new("topic", "urn:docs"), new("data", "an update")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MercureJwt.Sign(new
        {
            authorization_details = new[] { new { type = "https://mercure.rocks/authorization-detail", actions = new[] { "publish" }, topics = new[] { new { match = "*" } } } },
        }, type: "at+jwt"));
        using var response = await _node.Client.SendAsync(request);
        return new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> IssueWidgetTokenAsync()
    {
        using var issued = await _operator.PostAsJsonAsync("/api/widgets", new { assistant_id = _guest.AssistantId, allowed_domains = new[] { Shop } });
        issued.EnsureSuccessStatusCode();
        return await issued.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Every described route of the running node as (method, path) in the document's spelling.</summary>
    private IEnumerable<(string Method, string Path)> Endpoints() =>
        from endpoint in _node.GetService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
        where endpoint.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true }
        let methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"]
        from method in methods
        // A group's own route ("" under "/ws") reads "/ws/"; the document says "/ws".
        let path = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/')
        orderby path, method
        select (method, path);

    private JsonElement? Operation(string method, string path) =>
        _doc.GetProperty("paths").TryGetProperty(path, out var item) && item.TryGetProperty(method.ToLowerInvariant(), out var operation) ? operation : null;

    private static IEnumerable<(string Status, JsonElement? Content)> Successes(JsonElement operation) =>
        from response in operation.GetProperty("responses").EnumerateObject()
        where response.Name.StartsWith('2') || response.Name == "101"
        select (response.Name, response.Value.TryGetProperty("content", out var content) ? content : (JsonElement?)null);

    private JsonElement Resolve(JsonElement schema) =>
        schema.TryGetProperty("$ref", out var reference)
            ? _doc.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1])
            : schema;

    private bool DescribesFields(JsonElement schema) =>
        (schema.TryGetProperty("properties", out var properties) && properties.EnumerateObject().Any())
        || (schema.TryGetProperty("items", out var items) && DescribesFields(Resolve(items)));

    /// <summary>
    /// The part of JSON Schema the generator emits: $ref, type (one or a list, "null" included), required,
    /// properties, additionalProperties, items, and anyOf/oneOf/allOf. A field the schema does not declare is an error
    /// too: a generated client would drop it.
    /// </summary>
    private void Validate(JsonElement value, JsonElement schema, string at, List<string> errors)
    {
        schema = Resolve(schema);
        if (schema.TryGetProperty("allOf", out var allOf))
        {
            foreach (var part in allOf.EnumerateArray())
            {
                Validate(value, part, at, errors);
            }
        }

        foreach (var keyword in new[] { "anyOf", "oneOf" })
        {
            if (schema.TryGetProperty(keyword, out var choices) && !choices.EnumerateArray().Any(choice => Errors(value, choice, at).Count == 0))
            {
                errors.Add($"{at}: matches none of {keyword} {choices}");
            }
        }

        if (schema.TryGetProperty("type", out var type))
        {
            var allowed = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()).ToHashSet() : [type.GetString()];
            var actual = value.ValueKind switch
            {
                JsonValueKind.Object => "object",
                JsonValueKind.Array => "array",
                JsonValueKind.String => "string",
                JsonValueKind.Number => value.TryGetInt64(out _) ? "integer" : "number",
                JsonValueKind.True or JsonValueKind.False => "boolean",
                _ => "null",
            };
            if (!allowed.Contains(actual) && !(actual == "integer" && allowed.Contains("number")))
            {
                errors.Add($"{at}: {actual}, documented {type}");
                return;
            }
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            var properties = schema.TryGetProperty("properties", out var p) ? p : default;
            if (schema.TryGetProperty("required", out var required))
            {
                errors.AddRange(required.EnumerateArray().Select(r => r.GetString()!).Where(r => !value.TryGetProperty(r, out _)).Select(r => $"{at}: required '{r}' missing"));
            }

            foreach (var property in value.EnumerateObject())
            {
                if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var propertySchema))
                {
                    Validate(property.Value, propertySchema, $"{at}.{property.Name}", errors);
                }
                else if (schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.Object)
                {
                    Validate(property.Value, additional, $"{at}.{property.Name}", errors);
                }
                else if (properties.ValueKind == JsonValueKind.Object)
                {
                    errors.Add($"{at}: '{property.Name}' is not documented");
                }
            }
        }
        else if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                Validate(item, items, $"{at}[{i++}]", errors);
            }
        }
    }

    private List<string> Errors(JsonElement value, JsonElement schema, string at)
    {
        var errors = new List<string>();
        Validate(value, schema, at, errors);
        return errors;
    }
}
