using System.Net;
using System.Net.Sockets;

namespace Herald.Testing;

/// <summary>Picks TCP ports on 127.0.0.1 for servers started by tests.</summary>
public static class LoopbackPort
{
    /// <summary>
    /// A port that was free on 127.0.0.1 a moment ago (the OS picks it). Another process may still take it before it
    /// is used, so a server that fails to bind should be retried with a new port.
    /// </summary>
    public static int GetFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
