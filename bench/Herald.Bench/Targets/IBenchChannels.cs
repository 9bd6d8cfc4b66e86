using Herald.Bench.Load;

namespace Herald.Bench.Targets;

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
