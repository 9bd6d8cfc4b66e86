namespace Herald.Server;

public sealed class LimitsOptions
{
    /// <summary>Largest request body accepted, in bytes (413 above).</summary>
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Concurrent streaming connections from one client IP (503 above); 0 = no limit.</summary>
    public int MaxConnectionsPerIp { get; set; } = 1000;

    /// <summary>Messages one client IP may post per second, sustained (429 above); 0 = no limit.</summary>
    public double MessagesPerIpPerSecond { get; set; } = 50;

    /// <summary>Messages one client IP may post in a burst.</summary>
    public int MessageBurstPerIp { get; set; } = 100;

    /// <summary>Messages one guest may post per second, sustained; 0 = no limit.</summary>
    public double MessagesPerGuestPerSecond { get; set; } = 3;

    /// <summary>Messages one guest may post in a burst.</summary>
    public int MessageBurstPerGuest { get; set; } = 20;

    /// <summary>Login attempts per client IP per minute; 0 = no limit.</summary>
    public int LoginsPerIpPerMinute { get; set; } = 10;

    /// <summary>New dialogs one client IP may open per minute, sustained (429 above); 0 = no limit. A returning visitor's dialog does not count.</summary>
    public double DialogsPerIpPerMinute { get; set; } = 30;

    /// <summary>New dialogs one client IP may open in a burst (several visitors behind one NAT).</summary>
    public int DialogBurstPerIp { get; set; } = 20;

    /// <summary>New dialogs per assistant per minute from all addresses together, sustained; 0 = no limit.</summary>
    public double DialogsPerAssistantPerMinute { get; set; } = 600;

    /// <summary>New dialogs per assistant in a burst.</summary>
    public int DialogBurstPerAssistant { get; set; } = 200;
}
