namespace Herald.Bridge;

/// <summary>Seed 004's test WebSocket client (<c>herald testclient</c>).</summary>
public sealed class TestClientSettings
{
    public string Message { get; set; } = "Hello Server!";
    /// <summary>Requests sent, one after another.</summary>
    public int MaxMessages { get; set; } = 3;
    /// <summary>Milliseconds between one request's <c>closed</c> and the next request.</summary>
    public int SendDelay { get; set; } = 1000;
}
