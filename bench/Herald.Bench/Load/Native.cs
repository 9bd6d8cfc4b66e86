using System.Runtime.InteropServices;

namespace Herald.Bench.Load;

/// <summary>
/// The few libc calls the load generator's event loop needs (Linux, x86-64): non-blocking sockets and one
/// level-triggered epoll set per worker.
/// </summary>
/// <remarks>
/// .NET's own <c>Socket</c> would register every socket with the runtime's epoll thread and hop each
/// completion through the thread pool; for 20,000 connections on a 2-core machine shared with the server,
/// one thread doing <c>epoll_wait</c> + <c>recv</c> into one buffer is several times cheaper per delivery.
/// </remarks>
internal static unsafe partial class Native
{
    public const int AfInet = 2;
    public const int SockStream = 1;
    public const int SockNonBlock = 0x800;
    public const int SockCloExec = 0x80000;
    public const int SolSocket = 1;
    public const int SoError = 4;
    public const int IpProtoTcp = 6;
    public const int TcpNoDelay = 1;
    public const int EpollCloExec = 0x80000;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlMod = 3;
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollRdHup = 0x2000;
    public const int EInProgress = 115;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const int MsgNoSignal = 0x4000;
    public const int RlimitNoFile = 7;

    /// <summary><c>struct epoll_event</c> is packed on x86-64: 4 bytes of flags, then 8 of data.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrIn
    {
        public ushort Family;
        public ushort PortBigEndian;
        public uint AddressBigEndian;
        public ulong Zero;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockAddrIn* address, int length);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, SockAddrIn* address, int length);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, int* value, int length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int fd, int level, int name, int* value, int* length);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epfd, EpollEvent* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, RLimit* limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    public static partial int SetRLimit(int resource, RLimit* limit);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    /// <summary>Raises the soft open-files limit to the hard one; returns (soft, hard) after the attempt.</summary>
    public static (ulong Soft, ulong Hard) RaiseOpenFilesLimit()
    {
        RLimit limit;
        if (GetRLimit(RlimitNoFile, &limit) != 0)
        {
            return (0, 0);
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = new RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (SetRLimit(RlimitNoFile, &raised) == 0)
            {
                limit = raised;
            }
        }

        return (limit.Current, limit.Maximum);
    }

    /// <summary>An IPv4 address in network byte order from its four octets.</summary>
    public static uint Ipv4(byte a, byte b, byte c, byte d) => (uint)(a | (b << 8) | (c << 16) | (d << 24));

    public static ushort HostToNetwork(ushort port) => (ushort)((port >> 8) | (port << 8));
}
