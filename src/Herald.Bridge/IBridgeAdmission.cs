namespace Herald.Bridge;

/// <summary>
/// The host's own limit on open connections, which bridge sockets count under (the gateway: its global and per-IP
/// connection limits). It applies on top of the bridge's <c>maxConnectionsPerAddress</c>; the standalone bridge has
/// no other limit.
/// </summary>
public interface IBridgeAdmission
{
    /// <summary>Takes a connection slot for a client address (its IP address as text).</summary>
    /// <returns><see langword="null"/> when the slot is taken; otherwise the answer to refuse the upgrade with.</returns>
    BridgeRefusal? TryReserve(string address);

    /// <summary>Frees the slot <see cref="TryReserve"/> took, when the socket has closed.</summary>
    void Release(string address);
}
