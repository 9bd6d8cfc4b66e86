namespace Herald.Bridge;

/// <summary>The bridge settings are missing or invalid; the message names the key.</summary>
public sealed class BridgeSettingsException : Exception
{
    public BridgeSettingsException(string message) : base(message)
    {
    }

    public BridgeSettingsException(string message, Exception inner) : base(message, inner)
    {
    }
}
