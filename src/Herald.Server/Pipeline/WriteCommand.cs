using System.Runtime.CompilerServices;

namespace Herald.Server.Pipeline;

/// <summary>
/// A unit of work that changes stored data and may emit events. The <see cref="EventWriter"/> runs many of
/// them in one transaction: their rows and their events commit together or not at all, and the events get
/// ids in commit order.
/// </summary>
public abstract class WriteCommand
{
    /// <summary>Runs the command's SQL inside the batch transaction and returns its result.</summary>
    public abstract ValueTask<object?> ExecuteAsync(WriteContext context, CancellationToken cancellationToken);

    /// <summary>Completes the caller's wait with the command's committed result (the writer, after the commit).</summary>
    internal abstract void Complete(object? result);

    /// <summary>Fails the caller's wait.</summary>
    internal abstract void Fail(Exception exception);

    /// <summary>When the command was queued (<see cref="System.Diagnostics.Stopwatch"/> ticks), for <c>herald.store.write.latency</c>.</summary>
    internal long QueuedAt { get; set; }

    /// <summary>
    /// The caller's span (the POST) when tracing is on, so that the commit's span is its child; null otherwise (boxed:
    /// 8 bytes per command rather than 40 while tracing is off). The events it emits share the box while pending
    /// (<see cref="PendingEvent.TraceParent"/>).
    /// </summary>
    internal StrongBox<System.Diagnostics.ActivityContext>? TraceParent { get; set; }
}

/// <summary>A <see cref="WriteCommand"/> with a typed result.</summary>
public abstract class WriteCommand<T> : WriteCommand
{
    // Typed, so that the caller awaits this task itself: no async frame, no cast of the result between them.
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the command has committed (or failed).</summary>
    internal Task<T> Completion => _completion.Task;

    internal sealed override void Complete(object? result) => _completion.TrySetResult((T)result!);

    internal sealed override void Fail(Exception exception) => _completion.TrySetException(exception);

    public sealed override ValueTask<object?> ExecuteAsync(WriteContext context, CancellationToken cancellationToken)
    {
        // Most commands finish synchronously on SQLite: their result without a second task.
        var run = RunAsync(context, cancellationToken);
        return run.IsCompletedSuccessfully ? new ValueTask<object?>(run.Result) : AwaitAsync(run);
    }

    private static async ValueTask<object?> AwaitAsync(Task<T> run) => await run;

    protected abstract Task<T> RunAsync(WriteContext context, CancellationToken cancellationToken);
}
