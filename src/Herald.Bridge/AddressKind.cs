namespace Herald.Bridge;

/// <summary>What kind of address an upstream resolves to; the allow-list decides per kind.</summary>
public enum AddressKind
{
    /// <summary>Globally routable unicast.</summary>
    Public,
    /// <summary>127.0.0.0/8, ::1.</summary>
    Loopback,
    /// <summary>10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7, fec0::/10.</summary>
    Private,
    /// <summary>169.254/16, fe80::/10.</summary>
    LinkLocal,
    /// <summary>Cloud instance metadata: 169.254.169.254, 168.63.129.16, fd00:ec2::254. Only an exact listing allows it.</summary>
    Metadata,
    /// <summary>0.0.0.0/8 and ::, which Linux connects to as the local host.</summary>
    Unspecified,
    /// <summary>224/4, ff00::/8.</summary>
    Multicast,
    /// <summary>255.255.255.255.</summary>
    Broadcast,
    /// <summary>Documentation, benchmarking, future-use and other special-purpose blocks.</summary>
    Reserved,
}
