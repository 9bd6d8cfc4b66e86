using System.Threading.Channels;

namespace Herald.Client.Tests.Infrastructure;

/// <summary>
/// Consumes a subscription on a background task and hands its events out one at a time with timeouts, so tests
/// await events instead of sleeping, and a stuck subscription fails the test instead of hanging it.
/// </summary>
public sealed class EventReader : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<HeraldEvent> _events = Channel.CreateUnbounded<HeraldEvent>();
    private readonly Task _pump;
    private readonly IDisposable? _owned;

    /// <param name="subscribe">Starts the subscription.</param>
    /// <param name="owned">Disposed with the reader (e.g. the client the subscription belongs to).</param>
    public EventReader(Func<CancellationToken, IAsyncEnumerable<HeraldEvent>> subscribe, IDisposable? owned = null)
    {
        _owned = owned;
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var evt in subscribe(_stop.Token))
                {
                    await _events.Writer.WriteAsync(evt);
                }

                _events.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _events.Writer.TryComplete(ex is OperationCanceledException ? null : ex);
            }
        });
    }

    /// <summary>The next event; throws what ended the subscription, or <see cref="TimeoutException"/>.</summary>
    public async Task<HeraldEvent> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _events.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No event within {timeout ?? DefaultTimeout}.");
        }
        catch (ChannelClosedException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }

    /// <summary>The next event that satisfies <paramref name="predicate"/>, skipping others.</summary>
    public async Task<HeraldEvent> NextAsync(Func<HeraldEvent, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var evt = await NextAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            if (predicate(evt))
            {
                return evt;
            }
        }
    }

    /// <summary>The next <paramref name="count"/> message events (skipping typing and other events).</summary>
    public async Task<List<HeraldEvent>> MessagesAsync(int count, TimeSpan? timeout = null)
    {
        var list = new List<HeraldEvent>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(await NextAsync(e => e.MessageNew is not null, timeout));
        }

        return list;
    }

    /// <summary>True when nothing arrives within <paramref name="window"/>.</summary>
    public async Task<bool> IsQuietAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            return !await _events.Reader.WaitToReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _pump.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
        }

        _stop.Dispose();
        _owned?.Dispose();
    }
}
