using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Herald.Cli.Doctor;

/// <summary>All checks of one run, rendered for people or (<c>--json</c>) for scripts.</summary>
internal sealed class DoctorReport(string baseUrl, string mode)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter<CheckStatus>(JsonNamingPolicy.SnakeCaseLower) },
    };

    private readonly List<CheckResult> _checks = [];

    public string BaseUrl { get; } = baseUrl;

    /// <summary>Which credential drove the run: <c>operator</c>, <c>guest</c>, <c>site</c> or <c>none</c>.</summary>
    public string Mode { get; } = mode;

    public IReadOnlyList<CheckResult> Checks => _checks;

    /// <summary>True when nothing failed and nothing had to be skipped.</summary>
    public bool Ok => _checks.All(c => c.Status is CheckStatus.Pass or CheckStatus.Info);

    public CheckResult Add(CheckResult result)
    {
        _checks.Add(result);
        return result;
    }

    public CheckResult? Find(string name) => _checks.LastOrDefault(c => c.Name == name);

    public string ToJson() => JsonSerializer.Serialize(new { BaseUrl, Mode, Ok, Checks }, Json);

    public string ToText()
    {
        var text = new StringBuilder();
        text.Append("herald doctor ").Append(BaseUrl).Append(" (").Append(Mode).Append(" mode)\n");
        var width = _checks.Count == 0 ? 0 : _checks.Max(c => c.Name.Length);
        foreach (var check in _checks)
        {
            var label = check.Status switch
            {
                CheckStatus.Pass => "PASS",
                CheckStatus.Fail => "FAIL",
                CheckStatus.Info => "INFO",
                _ => "SKIP",
            };
            text.Append(label).Append("  ").Append(check.Name.PadRight(width)).Append("  ").Append(check.Summary).Append('\n');
            var indent = new string(' ', 6 + width + 2);
            if (check.Cause is not null)
            {
                text.Append(indent).Append("cause: ").Append(check.Cause).Append('\n');
            }

            if (check.Fix is not null)
            {
                text.Append(indent).Append("fix:   ").Append(check.Fix.Replace("\n", "\n" + indent + "       ", StringComparison.Ordinal)).Append('\n');
            }
        }

        var failed = _checks.Count(c => c.Status == CheckStatus.Fail);
        var skipped = _checks.Count(c => c.Status == CheckStatus.Skip);
        text.Append(Ok ? "All checks passed.\n" : $"{failed} failed, {skipped} skipped.\n");
        return text.ToString();
    }
}
