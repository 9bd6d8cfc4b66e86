namespace Herald.Bridge;

/// <summary>Where a bridge runs; the defaults that protect it differ (docs/bridge.md, "Who may connect").</summary>
public enum BridgeMode
{
    /// <summary><c>herald bridge</c>: seed 004's program, one user on this machine.</summary>
    Standalone,
    /// <summary>Mapped into the public Herald server (<c>Herald:Bridge:Enabled</c>).</summary>
    Mounted,
}
