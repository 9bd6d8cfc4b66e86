using Herald.Protocol.Limits;

namespace Herald.Bridge;

/// <summary>What every socket of one bridge shares: the policy, the upstream client, the bridge-wide stream count.</summary>
internal sealed class BridgeService : IDisposable
{
    private int _streams;

    public BridgeService(BridgePolicy policy, ILogger logger, CancellationToken stopping, HostResolver? resolver = null)
    {
        Policy = policy;
        Logger = logger;
        Stopping = stopping;
        Upstream = new UpstreamClient(policy, resolver);
        ConnectionsPerAddress = new AddressCounter(policy.Limits.MaxConnectionsPerAddress);
        StreamsPerAddress = new AddressCounter(policy.Limits.MaxStreamsPerAddress);
    }

    /// <summary>Open bridge sockets per client address (<c>proxy.limits.maxConnectionsPerAddress</c>).</summary>
    public AddressCounter ConnectionsPerAddress { get; }

    /// <summary>Running streams per client address over all its sockets (<c>proxy.limits.maxStreamsPerAddress</c>).</summary>
    public AddressCounter StreamsPerAddress { get; }

    public BridgePolicy Policy { get; }

    public UpstreamClient Upstream { get; }

    public ILogger Logger { get; }

    /// <summary>Signalled when the host stops; sockets close with 1012 (Service Restart).</summary>
    public CancellationToken Stopping { get; }

    /// <summary>Takes one of the bridge-wide stream slots (<c>proxy.limits.maxStreams</c>).</summary>
    public bool TryAcquireStream()
    {
        if (Interlocked.Increment(ref _streams) <= Policy.Limits.MaxStreams)
        {
            return true;
        }

        Interlocked.Decrement(ref _streams);
        return false;
    }

    public void ReleaseStream() => Interlocked.Decrement(ref _streams);

    public void Dispose() => Upstream.Dispose();
}
