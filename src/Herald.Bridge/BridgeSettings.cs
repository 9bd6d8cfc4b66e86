namespace Herald.Bridge;

/// <summary>
/// The whole <c>settings.json</c> of seed 004: the <c>proxy</c>, <c>testServer</c> and <c>testClient</c> sections.
/// Names, defaults and units (milliseconds) are the seed's; docs/bridge.md lists every key.
/// </summary>
public sealed class BridgeSettings
{
    public ProxySettings Proxy { get; set; } = new();
    public TestServerSettings TestServer { get; set; } = new();
    public TestClientSettings TestClient { get; set; } = new();
}
