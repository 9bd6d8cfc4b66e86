using Herald.Bench.Load;

namespace Herald.Bench.Targets;

/// <summary>
/// A server under comparison — Herald, Nchan or SignalR — started fresh for one scenario: how a subscriber
/// connects to a channel, how a message is published to one, and the process whose memory and CPU are
/// measured. Scenarios are written once against this.
/// </summary>
internal interface IBenchTarget : IAsyncDisposable
{
    /// <summary>Short name: <c>herald</c>, <c>nchan</c>, <c>signalr</c>.</summary>
    string Name { get; }

    /// <summary>One line for reports: what runs and how it is configured.</summary>
    string Description { get; }

    /// <summary>How the workers subscribe: <see cref="ConnectSpec.Sse"/> or <see cref="ConnectSpec.SignalR"/>.</summary>
    string Protocol { get; }

    ServerProcess Server { get; }

    /// <summary>A .NET process: EventPipe (GC pauses, heap snapshots) works on it.</summary>
    bool IsDotNet { get; }

    /// <summary>A few cheap requests so JIT and first-use allocations are in a baseline, not in the figures.</summary>
    Task WarmUpAsync();

    /// <summary>The subscribers the server itself counts (null when it cannot say).</summary>
    Task<long?> ActiveConnectionsAsync();

    /// <summary>Creates what the channels need (Herald's dialogs) and a publisher for them.</summary>
    Task<IBenchChannels> OpenChannelsAsync(ChannelSpec spec);
}
