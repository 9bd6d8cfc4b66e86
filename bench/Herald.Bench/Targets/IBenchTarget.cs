using Herald.Bench.Load;

namespace Herald.Bench.Targets;

/// <summary>What a scenario's channels are for: plain pub/sub topics, or chat dialogs.</summary>
internal enum ChannelKind
{
    /// <summary>Topics: subscribe to a name, publish to it.</summary>
    Topic,

    /// <summary>
    /// Chat dialogs: on Herald, real dialogs with a guest and an operator stream each, messages posted through
    /// the chat POST (stored in SQLite before delivery); elsewhere the same as topics.
    /// </summary>
    Dialog,
}

/// <summary>The channels a scenario asks for: <c>{Prefix}-{i}</c> for i below <c>Count</c>.</summary>
/// <param name="Publishers">Keep-alive HTTP/1.1 connections to publish over.</param>
/// <param name="Padding">Extra payload per published message (S2's message size), after the marker.</param>
internal sealed record ChannelSpec(string Prefix, int Count, ChannelKind Kind, int Publishers, string Padding = "");

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

/// <summary>A scenario's channels on one target.</summary>
internal interface IBenchChannels : IDisposable
{
    /// <summary>What setting them up took, for the report (empty when nothing).</summary>
    string SetupSummary { get; }

    /// <summary>Subscriber number <paramref name="subscriber"/> of channel <paramref name="channel"/>.</summary>
    Subscription Subscribe(int channel, int subscriber);

    /// <summary>Publishes <paramref name="text"/> (and the padding) to a channel; true when the server accepted it.</summary>
    Task<bool> PublishAsync(int channel, string text);
}
