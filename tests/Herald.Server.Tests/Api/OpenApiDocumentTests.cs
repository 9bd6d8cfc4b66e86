using System.Text.Json;
using Herald.Testing;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Herald.Server.Tests.Api;

/// <summary>
/// /openapi/v1.json is what client generators read: it must parse and validate, name every request body and query
/// parameter the handlers read by hand, describe the error body, and say how each route authenticates.
/// </summary>
public sealed class OpenApiDocumentTests : IAsyncLifetime
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];

    // The routes whose handlers read a JSON body (RequestReader.ReadJsonAsync<T>).
    private static readonly (string Method, string Path)[] JsonBodies =
    [
        ("post", "/api/auth/login"), ("post", "/api/widgets"), ("post", "/api/validate-widget-token"),
        ("put", "/api/assistants/{id}/domains"), ("put", "/api/assistants/{id}/identity"), ("post", "/api/assistants"),
        ("post", "/api/dialogs/{id}/messages"), ("post", "/api/widget/dialogs/{id}/messages"), ("post", "/api/widget/dialogs/{id}/visitor"),
        ("post", "/api/disconnect"), ("post", "/api/publish"), ("post", "/api/broadcast"),
    ];

    // Query parameters the handlers read from HttpRequest.Query rather than binding them.
    private static readonly (string Method, string Path, string[] Names)[] QueryParameters =
    [
        ("get", "/api/poll", ["topic", "after_id", "timeout"]),
        ("get", "/api/events", ["topic", "last_event_id"]),
        ("get", "/api/dialogs/{id}/poll", ["after_id", "timeout"]),
        ("get", "/api/dialogs/{id}/messages", ["after_id", "limit"]),
        ("get", "/api/dialogs/{id}/events", ["last_event_id"]),
        ("get", "/api/dialogs", ["assistant_id", "include_empty"]),
        ("get", "/api/widgets", ["assistant_id"]),
        ("get", "/api/topics", ["prefix", "limit"]),
    ];

    private HeraldTestNode _server = null!;
    private string _json = null!;
    private JsonElement _doc;

    public async Task InitializeAsync()
    {
        _server = await HeraldTestNode.StartInProcessAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        _json = await _server.Client.GetStringAsync("/openapi/v1.json", timeout.Token);
        _doc = JsonDocument.Parse(_json).RootElement;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void Document_ParsesAndValidates()
    {
        var result = OpenApiDocument.Parse(_json, "json", new OpenApiReaderSettings());
        Assert.NotNull(result.Document);
        Assert.Empty(result.Diagnostic?.Errors.Select(e => e.ToString()) ?? []);
    }

    [Fact]
    public void SecuritySchemes_NameEveryCredential()
    {
        var schemes = _doc.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty("operator").GetProperty("scheme").GetString());
        Assert.Equal("bearer", schemes.GetProperty("app_token").GetProperty("scheme").GetString());
        AssertApiKey(schemes.GetProperty("api_key"), "header", "X-Api-Key");
        AssertApiKey(schemes.GetProperty("site_token"), "query", "site_token");
        AssertApiKey(schemes.GetProperty("guest"), "query", "guest_id");

        static void AssertApiKey(JsonElement scheme, string where, string name)
        {
            Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
            Assert.Equal(where, scheme.GetProperty("in").GetString());
            Assert.Equal(name, scheme.GetProperty("name").GetString());
        }
    }

    [Fact]
    public void EveryOperation_HasASuccessAndAnErrorBodyResponse()
    {
        var errorBody = _doc.GetProperty("components").GetProperty("schemas").GetProperty("ErrorBody");
        Assert.True(errorBody.GetProperty("properties").TryGetProperty("error", out _));
        Assert.True(errorBody.GetProperty("properties").TryGetProperty("detail", out _));

        var operations = Operations().ToList();
        Assert.NotEmpty(operations);
        foreach (var (method, path, operation) in operations)
        {
            var responses = operation.GetProperty("responses").EnumerateObject().ToList();
            Assert.True(responses.Any(r => r.Name.StartsWith('2') || r.Name == "101"), $"{method} {path}: no success response");
            Assert.True(responses.Any(r => r.Name[0] is '4' or '5' && RefersToErrorBody(r.Value)), $"{method} {path}: no error response with ErrorBody");
            if (path.Contains('{'))
            {
                Assert.True(responses.Any(r => r.Name == "404" && RefersToErrorBody(r.Value)) || responses.Any(r => r.Name == "403"), $"{method} {path}: no 404/403 for its id");
            }
        }
    }

    [Fact]
    public void ProtectedOperations_NameTheirSecurityAnd401()
    {
        foreach (var (method, path, operation) in Operations().Where(o => o.Path.StartsWith("/api/", StringComparison.Ordinal)
                     && o.Path is not "/api/auth/login" and not "/api/validate-widget-token" and not "/api/sse/health" and not "/api/sse/stats"))
        {
            Assert.True(operation.TryGetProperty("security", out var security) && security.GetArrayLength() > 0, $"{method} {path}: no security");
            Assert.True(operation.GetProperty("responses").TryGetProperty("401", out var unauthorized) && RefersToErrorBody(unauthorized), $"{method} {path}: no 401");
        }
    }

    [Fact]
    public void JsonBodies_AreNamed()
    {
        foreach (var (method, path) in JsonBodies)
        {
            var operation = Operation(method, path);
            Assert.True(operation.TryGetProperty("requestBody", out var body), $"{method} {path}: no requestBody");
            Assert.True(body.GetProperty("content").TryGetProperty("application/json", out var json), $"{method} {path}: not JSON");
            Assert.True(json.TryGetProperty("schema", out var schema), $"{method} {path}: no schema");
            // A generated client needs the fields: either inline or through a component.
            var reference = schema.TryGetProperty("$ref", out var r) ? r.GetString()!.Split('/')[^1] : null;
            var resolved = reference is null ? schema : _doc.GetProperty("components").GetProperty("schemas").GetProperty(reference);
            Assert.True(resolved.TryGetProperty("properties", out var properties) && properties.EnumerateObject().Any(), $"{method} {path}: the body schema names no fields");
            // The handlers read snake_case (HeraldJson); the generator once described the framework's camelCase instead.
            Assert.All(properties.EnumerateObject(), p => Assert.False(p.Name.Any(char.IsUpper), $"{method} {path}: field '{p.Name}' is not snake_case"));
            Assert.True(operation.GetProperty("responses").TryGetProperty("400", out var bad) && RefersToErrorBody(bad), $"{method} {path}: no 400");
        }
    }

    [Fact]
    public void QueryParameters_AreListed()
    {
        foreach (var (method, path, names) in QueryParameters)
        {
            var operation = Operation(method, path);
            var listed = operation.TryGetProperty("parameters", out var parameters)
                ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()).ToHashSet()
                : [];
            foreach (var name in names)
            {
                Assert.True(listed.Contains(name), $"{method} {path}: query parameter '{name}' not listed");
            }
        }
    }

    private JsonElement Operation(string method, string path)
    {
        Assert.True(_doc.GetProperty("paths").TryGetProperty(path, out var item), $"{path} missing");
        Assert.True(item.TryGetProperty(method, out var operation), $"{method} {path} missing");
        return operation;
    }

    private IEnumerable<(string Method, string Path, JsonElement Operation)> Operations() =>
        from path in _doc.GetProperty("paths").EnumerateObject()
        from method in path.Value.EnumerateObject()
        where Methods.Contains(method.Name)
        select (method.Name, path.Name, method.Value);

    private static bool RefersToErrorBody(JsonElement response) =>
        response.TryGetProperty("content", out var content)
        && content.TryGetProperty("application/json", out var json)
        && json.TryGetProperty("schema", out var schema)
        && schema.TryGetProperty("$ref", out var reference)
        && reference.GetString() == "#/components/schemas/ErrorBody";
}
