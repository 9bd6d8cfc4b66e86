using System.Net;
using System.Net.Sockets;

namespace Herald.Bridge;

/// <summary>
/// Classifies IP addresses by the IANA special-purpose registries. Addresses that embed an IPv4 address
/// (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) are classified by that IPv4 address, so
/// <c>::ffff:10.0.0.1</c> is as private as <c>10.0.0.1</c>.
/// </summary>
public static class AddressClassifier
{
    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), // AWS, GCP, Azure IMDS, OpenStack, DigitalOcean, ...
        IPAddress.Parse("168.63.129.16"),   // Azure wire server: a public-looking address that is host-local
        IPAddress.Parse("fd00:ec2::254"),   // AWS IMDS over IPv6
    ];

    private static readonly (IPNetwork Network, AddressKind Kind)[] V4Ranges =
    [
        (IPNetwork.Parse("0.0.0.0/8"), AddressKind.Unspecified),
        (IPNetwork.Parse("127.0.0.0/8"), AddressKind.Loopback),
        (IPNetwork.Parse("10.0.0.0/8"), AddressKind.Private),
        (IPNetwork.Parse("172.16.0.0/12"), AddressKind.Private),
        (IPNetwork.Parse("192.168.0.0/16"), AddressKind.Private),
        (IPNetwork.Parse("100.64.0.0/10"), AddressKind.Private),
        (IPNetwork.Parse("169.254.0.0/16"), AddressKind.LinkLocal),
        (IPNetwork.Parse("224.0.0.0/4"), AddressKind.Multicast),
        (IPNetwork.Parse("255.255.255.255/32"), AddressKind.Broadcast),
        (IPNetwork.Parse("240.0.0.0/4"), AddressKind.Reserved),
        (IPNetwork.Parse("192.0.0.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("192.0.2.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("198.51.100.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("203.0.113.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("198.18.0.0/15"), AddressKind.Reserved),
    ];

    private static readonly (IPNetwork Network, AddressKind Kind)[] V6Ranges =
    [
        (IPNetwork.Parse("fe80::/10"), AddressKind.LinkLocal),
        (IPNetwork.Parse("fec0::/10"), AddressKind.Private),
        (IPNetwork.Parse("fc00::/7"), AddressKind.Private),
        (IPNetwork.Parse("ff00::/8"), AddressKind.Multicast),
        (IPNetwork.Parse("64:ff9b:1::/48"), AddressKind.Private),
        (IPNetwork.Parse("::/96"), AddressKind.Reserved),
        (IPNetwork.Parse("100::/64"), AddressKind.Reserved),
        (IPNetwork.Parse("2001::/23"), AddressKind.Reserved),
        (IPNetwork.Parse("2001:db8::/32"), AddressKind.Reserved),
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork GlobalUnicast = IPNetwork.Parse("2000::/3");

    /// <summary>The address an IPv4-in-IPv6 form stands for, or the address itself.</summary>
    public static IPAddress Normalize(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.IsIPv4MappedToIPv6)
            {
                return address.MapToIPv4();
            }

            Span<byte> bytes = stackalloc byte[16];
            address.TryWriteBytes(bytes, out _);
            if (Nat64.Contains(address))
            {
                return new IPAddress(bytes[12..16]);
            }

            if (SixToFour.Contains(address))
            {
                return new IPAddress(bytes[2..6]);
            }

            if (address.ScopeId != 0)
            {
                // Compare without the zone: fe80::1%eth0 is the same link-local address for every rule here.
                return new IPAddress(bytes);
            }
        }

        return address;
    }

    public static AddressKind Classify(IPAddress address)
    {
        address = Normalize(address);
        foreach (var metadata in MetadataAddresses)
        {
            if (metadata.Equals(address))
            {
                return AddressKind.Metadata;
            }
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            foreach (var (network, kind) in V4Ranges)
            {
                if (network.Contains(address))
                {
                    return kind;
                }
            }

            return AddressKind.Public;
        }

        if (address.Equals(IPAddress.IPv6None))
        {
            return AddressKind.Unspecified;
        }

        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return AddressKind.Loopback;
        }

        foreach (var (network, kind) in V6Ranges)
        {
            if (network.Contains(address))
            {
                return kind;
            }
        }

        return GlobalUnicast.Contains(address) ? AddressKind.Public : AddressKind.Reserved;
    }

    /// <summary>
    /// Whether <paramref name="address"/> (normalized) is assigned to one of this machine's interfaces. The list is
    /// read again after <see cref="LocalAddressesLifetime"/>, so an address a DHCP lease or a new interface brings
    /// is known within that time without a system call on every upstream connect.
    /// </summary>
    public static bool IsLocalInterfaceAddress(IPAddress address)
    {
        var snapshot = Volatile.Read(ref _localAddresses);
        if (snapshot is null || Environment.TickCount64 >= snapshot.Expires)
        {
            snapshot = new LocalAddresses(ReadLocalAddresses(), Environment.TickCount64 + (long)LocalAddressesLifetime.TotalMilliseconds);
            Volatile.Write(ref _localAddresses, snapshot);
        }

        return snapshot.Addresses.Contains(address);
    }

    private static readonly TimeSpan LocalAddressesLifetime = TimeSpan.FromSeconds(10);

    private static LocalAddresses? _localAddresses;

    private static HashSet<IPAddress> ReadLocalAddresses()
    {
        var addresses = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    addresses.Add(Normalize(unicast.Address));
                }
            }
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            // No interface list (a restricted sandbox): nothing is known to be local, the kind rules still apply.
        }

        return addresses;
    }

    private sealed record LocalAddresses(HashSet<IPAddress> Addresses, long Expires);

    /// <summary>Lower-case words for error messages: "a private address".</summary>
    public static string Describe(AddressKind kind) => kind switch
    {
        AddressKind.Public => "a public address",
        AddressKind.Loopback => "a loopback address",
        AddressKind.Private => "a private address",
        AddressKind.LinkLocal => "a link-local address",
        AddressKind.Metadata => "a cloud metadata address",
        AddressKind.Unspecified => "an unspecified address",
        AddressKind.Multicast => "a multicast address",
        AddressKind.Broadcast => "a broadcast address",
        _ => "a reserved address",
    };
}
