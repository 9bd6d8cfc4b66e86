namespace Herald.Bridge;

/// <summary>No byte arrived from upstream within <c>sseTimeout</c>.</summary>
internal sealed class UpstreamIdleException(int milliseconds)
    : Exception($"No data from the SSE server for {milliseconds} ms (proxy.sseTimeout).");
