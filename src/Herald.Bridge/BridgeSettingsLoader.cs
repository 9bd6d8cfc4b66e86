using System.Text.Json;

namespace Herald.Bridge;

/// <summary>Reads seed 004's <c>settings.json</c>.</summary>
public static class BridgeSettingsLoader
{
    /// <summary>The file looked for in the working directory when no path is given, as the seed does.</summary>
    public const string DefaultFileName = "settings.json";

    /// <summary>Environment variable that overrides <c>proxy.token</c>, so the secret need not live in the file.</summary>
    public const string TokenVariable = "HERALD_BRIDGE_TOKEN";

    private static readonly JsonSerializerOptions FileOptions = new(JsonSerializerDefaults.Web)
    {
        // The seed's file is hand-edited: comments and trailing commas are forgiven, unknown keys ignored.
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>
    /// Loads <paramref name="path"/>, or <c>settings.json</c> in the working directory. A missing default file
    /// means the seed's defaults; a missing explicit file is an error.
    /// </summary>
    /// <returns>The settings and a description of where they came from, for the startup log.</returns>
    /// <exception cref="BridgeSettingsException">The file is missing (when named), unreadable or invalid.</exception>
    public static (BridgeSettings Settings, string Source) Load(string? path)
    {
        var explicitPath = path is not null;
        var fullPath = Path.GetFullPath(path ?? DefaultFileName, Environment.CurrentDirectory);
        BridgeSettings settings;
        string source;
        if (!File.Exists(fullPath))
        {
            if (explicitPath)
            {
                throw new BridgeSettingsException($"Settings file '{fullPath}' does not exist.");
            }

            settings = new BridgeSettings();
            source = $"defaults ({DefaultFileName} not found in {Environment.CurrentDirectory})";
        }
        else
        {
            settings = Parse(File.ReadAllText(fullPath), fullPath);
            source = fullPath;
        }

        var token = Environment.GetEnvironmentVariable(TokenVariable);
        if (!string.IsNullOrEmpty(token))
        {
            settings.Proxy.Token = token;
        }

        // Compiling validates every section now, so a typo fails at startup rather than on the first request.
        _ = BridgePolicy.Compile(settings.Proxy);
        Validate(settings.TestServer, settings.TestClient);
        return (settings, source);
    }

    /// <summary>Parses settings JSON; <paramref name="origin"/> names the file in error messages.</summary>
    public static BridgeSettings Parse(string json, string origin = "settings")
    {
        try
        {
            return JsonSerializer.Deserialize<BridgeSettings>(json, FileOptions)
                ?? throw new BridgeSettingsException($"{origin}: the file holds 'null', expected an object.");
        }
        catch (JsonException ex)
        {
            throw new BridgeSettingsException($"{origin}: {ex.Message}", ex);
        }
    }

    private static void Validate(TestServerSettings server, TestClientSettings client)
    {
        BridgePolicy.Require(server.Port is >= 0 and <= 65535, "testServer.port must be 0-65535.");
        BridgePolicy.Require(server.ResponseCount >= 1, "testServer.responseCount must be at least 1.");
        BridgePolicy.Require(server.ResponseDelay >= 0, "testServer.responseDelay must not be negative.");
        BridgePolicy.Require(client.MaxMessages >= 1, "testClient.maxMessages must be at least 1.");
        BridgePolicy.Require(client.SendDelay >= 0, "testClient.sendDelay must not be negative.");
    }
}
