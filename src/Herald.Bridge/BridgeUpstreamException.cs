namespace Herald.Bridge;

/// <summary>
/// A stream failed for a reason the client should read: a refused target, a timeout, an upstream answer that
/// is not an event stream. The message goes verbatim into the <c>error</c> reply, so it never carries internals.
/// </summary>
public sealed class BridgeUpstreamException : Exception
{
    public BridgeUpstreamException(string message, bool transient = false, Exception? inner = null) : base(message, inner)
    {
        Transient = transient;
    }

    /// <summary>Whether retrying may succeed (a dropped or refused connection), as opposed to a policy refusal.</summary>
    public bool Transient { get; }

    /// <summary>The upstream HTTP status when the failure is an unexpected answer.</summary>
    public int? Status { get; init; }

    /// <summary>The first bytes (at most 512) of an unexpected answer's body, decoded as UTF-8.</summary>
    public string? Body { get; init; }
}
