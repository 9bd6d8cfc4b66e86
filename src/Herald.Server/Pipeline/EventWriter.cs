using System.Diagnostics;
using System.Threading.Channels;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Storage;
using Microsoft.Extensions.Options;

namespace Herald.Server.Pipeline;

/// <summary>
/// The node's single write path: queues <see cref="WriteCommand"/>s, commits them in batches (group commit),
/// then hands the committed events to the bus, which delivers them on every node.
/// </summary>
/// <remarks>
/// <para>Durable events are stored before anyone sees them: a POST returns, and subscribers receive its
/// event, only after the transaction that stored both the message and its event has committed.</para>
/// <para>Batching is what makes this cheap: while one transaction commits, the next requests queue up and
/// go into the next transaction together, so the per-commit cost (SQLite's WAL append, PostgreSQL's fsync
/// and the sequence row lock) is paid once per batch, not once per message.</para>
/// </remarks>
public sealed class EventWriter : BackgroundService
{
    private readonly Channel<WriteCommand> _queue = Channel.CreateBounded<WriteCommand>(
        new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly SqlStore _store;
    private readonly IEventBus _bus;
    private readonly ILogger<EventWriter> _logger;
    private readonly HeraldMetrics _metrics;
    private readonly int _maxBatch;

    public EventWriter(SqlStore store, IEventBus bus, HeraldMetrics metrics, IOptions<HeraldOptions> options, ILogger<EventWriter> logger)
    {
        _metrics = metrics;
        _store = store;
        _bus = bus;
        _logger = logger;
        _maxBatch = Math.Max(1, options.Value.Storage.MaxWriteBatch);
        metrics.ObserveWriteQueue(() => _queue.Reader.Count);
    }

    /// <summary>Queues <paramref name="command"/> and completes once it has committed (or failed).</summary>
    public Task<T> ExecuteAsync<T>(WriteCommand<T> command, CancellationToken cancellationToken = default)
    {
        command.QueuedAt = Stopwatch.GetTimestamp();
        if (HeraldTracing.Enabled && Activity.Current is { } caller)
        {
            command.TraceParent = new(caller.Context);
        }

        // The queue has room but when 10,000 writes wait: then (only) an async frame waits for it.
        var queued = _queue.Writer.WriteAsync(command, cancellationToken);
        return queued.IsCompletedSuccessfully ? command.Completion : QueueThenWaitAsync(queued, command);
    }

    private static async Task<T> QueueThenWaitAsync<T>(ValueTask queued, WriteCommand<T> command)
    {
        await queued;
        return await command.Completion;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<WriteCommand>(_maxBatch);
        var results = new List<object?>(_maxBatch);
        var reader = _queue.Reader;
        // Requests still queued at shutdown are committed: the host stops accepting requests first.
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < _maxBatch && reader.TryRead(out var command))
            {
                batch.Add(command);
            }

            try
            {
                await CommitAsync(batch, results);
            }
            catch (Exception ex)
            {
                // CommitAsync answers store failures itself and lets nothing escape once a batch has committed, so this
                // is a fault before any commit: failing what is unanswered runs nothing twice, and the writer, the only
                // one of the node, goes on with the next batch.
                StorageLog.WriterFault(_logger, batch.Count, ex);
                _metrics.LoopFault("writer");
                foreach (var command in batch)
                {
                    command.Fail(ex);
                }
            }

            await _store.BetweenWriteBatchesAsync();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private async Task CommitAsync(List<WriteCommand> batch, List<object?> results)
    {
        IReadOnlyList<HubEvent> events;
        var started = Stopwatch.GetTimestamp();
        try
        {
            events = await _store.CommitBatchAsync(batch, results, CancellationToken.None);
        }
        catch (Exception) when (batch.Count > 1)
        {
            // One command failed and took the transaction with it: run each alone so only that one fails.
            foreach (var command in batch)
            {
                await CommitAsync([command], results);
            }

            return;
        }
        catch (Exception ex)
        {
            if (ex is not StoreValidationException)
            {
                StorageLog.WriteFailed(_logger, batch[0].GetType().Name, ex);
                _metrics.LoopFault("writer");
            }

            batch[0].Fail(ex);
            return;
        }

        // Committed: from here on nothing may run the commands again (that would store them twice), and their
        // requests succeed whatever fails below. Publish before completing them: when a POST returns 201, its
        // event is on its way. The figures come last and apart, so that a fault in them cannot stop the events.
        var committed = Stopwatch.GetTimestamp();
        if (events.Count > 0)
        {
            List<Activity>? spans = null;
            var current = Activity.Current;
            try
            {
                spans = TraceCommit(batch.Count, events, started);
                _bus.Publish(events);
            }
            catch (Exception ex)
            {
                // A fault in delivery, not in the write: the events are in the store, so subscribers still get them
                // by Last-Event-ID, and other nodes through their store catch-up.
                AfterCommitFault(events, ex);
            }
            finally
            {
                if (spans is not null)
                {
                    spans.ForEach(static span => span.Stop());
                    // Starting spans made them current in the writer's loop; the next batch must not inherit one.
                    Activity.Current = current;
                }
            }
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Complete(results[i]);
        }

        try
        {
            if (events.Count > 0)
            {
                _metrics.EventsPublished.Add(events.Count);
            }

            _metrics.WriteBatchDuration.Record(Stopwatch.GetElapsedTime(started, committed).TotalMilliseconds);
            _metrics.WriteBatchSize.Record(batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                _metrics.WriteLatency.Record(Stopwatch.GetElapsedTime(batch[i].QueuedAt, committed).TotalMilliseconds);
            }
        }
        catch (Exception ex)
        {
            AfterCommitFault(events, ex);
        }
    }

    /// <summary>
    /// For each traced command of the batch: a <c>herald.commit</c> span (the batch's transaction, as a child of the
    /// command's caller) and a <c>herald.publish</c> span under it, left open around the bus's publish and returned
    /// for the caller to stop. The command's events then carry the publish span's context to every node.
    /// </summary>
    /// <returns>The open publish spans, or null when nothing in the batch is traced (the usual case: no allocation).</returns>
    private List<Activity>? TraceCommit(int batchSize, IReadOnlyList<HubEvent> events, long started)
    {
        List<Activity>? spans = null;
        List<(ActivityTraceId Trace, ActivitySpanId Parent, ActivityContext Publish, List<long> Ids)>? traced = null;
        foreach (var item in events)
        {
            if (!item.IsTraced)
            {
                continue;
            }

            var parent = item.TraceContext;
            traced ??= [];
            var index = traced.FindIndex(t => t.Trace == parent.TraceId && t.Parent == parent.SpanId);
            if (index < 0)
            {
                var startedAt = DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(started);
                using (var commit = HeraldTracing.Source.StartActivity("herald.commit", ActivityKind.Internal, parent, startTime: startedAt))
                {
                    commit?.SetTag("herald.batch.size", batchSize);
                    var publish = commit is null ? null : HeraldTracing.Source.StartActivity("herald.publish", ActivityKind.Producer, commit.Context);
                    if (publish is not null)
                    {
                        publish.SetTag("herald.backplane", _bus.State == "disabled" ? "in-process" : "redis");
                        (spans ??= []).Add(publish);
                    }

                    traced.Add((parent.TraceId, parent.SpanId, publish?.Context ?? default, []));
                    index = traced.Count - 1;
                }
            }

            item.TraceContext = traced[index].Publish;
            traced[index].Ids.Add(item.Id);
        }

        foreach (var span in spans ?? [])
        {
            var ids = traced!.Find(t => t.Publish.SpanId == span.SpanId).Ids;
            span.SetTag("herald.event_ids", ids.ToArray());
        }

        return spans;
    }

    private void AfterCommitFault(IReadOnlyList<HubEvent> events, Exception exception)
    {
        StorageLog.AfterCommitFault(_logger, events.Count > 0 ? events[0].Id : 0, events.Count > 0 ? events[^1].Id : 0, exception);
        _metrics.LoopFault("writer");
    }
}
