namespace Herald.Bench.Scenarios;

/// <summary>
/// One server under test in a chat run, with its own context (process, runtime monitor). <paramref name="Name"/> is
/// empty when there is only one, else "A", "B", …
/// </summary>
internal sealed record ChatNode(string Name, ScenarioContext Context)
{
    /// <summary>What its rows are labelled: "server", "server B".</summary>
    public string Label => Name.Length == 0 ? "server" : $"server {Name}";

    /// <summary>What its JSON fields are called: "server", "server_b".</summary>
    public string Key => Name.Length == 0 ? "server" : $"server_{Name.ToLowerInvariant()}";
}
