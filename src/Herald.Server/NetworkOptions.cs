namespace Herald.Server;

/// <summary><c>Herald:Network</c>: the proxies in front of Herald.</summary>
public sealed class NetworkOptions
{
    /// <summary>
    /// Comma-separated addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/8</c>) whose <c>X-Forwarded-For</c> and
    /// <c>X-Forwarded-Proto</c> Herald believes, so per-IP limits and logs see the real client. Empty: forwarded
    /// headers are ignored. A string rather than an array because the configuration binder appends to array
    /// defaults, which would make loopback impossible to untrust.
    /// </summary>
    public string TrustedProxies { get; set; } = "127.0.0.1, ::1";

    /// <summary>How many trusted proxies a request may have passed through (entries taken from the right of X-Forwarded-For).</summary>
    public int ForwardLimit { get; set; } = 1;
}
