namespace Herald.Server.Pipeline;

/// <summary>
/// A unit of work that changes stored data and may emit events. The <see cref="EventWriter"/> runs many of
/// them in one transaction: their rows and their events commit together or not at all, and the events get
/// ids in commit order.
/// </summary>
public abstract class WriteCommand
{
    /// <summary>Runs the command's SQL inside the batch transaction and returns its result.</summary>
    public abstract Task<object?> ExecuteAsync(WriteContext context, CancellationToken cancellationToken);

    internal TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When the command was queued (<see cref="System.Diagnostics.Stopwatch"/> ticks), for <c>herald.store.write.latency</c>.</summary>
    internal long QueuedAt { get; set; }

    /// <summary>The caller's span (the POST) when tracing is on, so that the commit's span is its child; default otherwise.</summary>
    internal System.Diagnostics.ActivityContext TraceParent { get; set; }
}

/// <summary>A <see cref="WriteCommand"/> with a typed result.</summary>
public abstract class WriteCommand<T> : WriteCommand
{
    public sealed override async Task<object?> ExecuteAsync(WriteContext context, CancellationToken cancellationToken) =>
        await RunAsync(context, cancellationToken);

    protected abstract Task<T> RunAsync(WriteContext context, CancellationToken cancellationToken);
}
