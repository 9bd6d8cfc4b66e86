using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Herald.Bench.Load;

/// <summary>
/// A worker process (<c>Herald.Bench --worker</c>): holds subscriber connections (SSE, SignalR over WebSocket,
/// Herald's WebSockets or long polls) on one epoll thread and reports to the coordinator over stdin/stdout JSON lines.
/// </summary>
/// <remarks>
/// One thread, one epoll set, level-triggered, one shared 256 KB receive buffer: the generator shares two
/// cores with the server, so every microsecond it spends per delivery is taken from the server. Parsing a
/// delivery allocates nothing (see <see cref="SseConnection"/> and <see cref="SignalRConnection"/>).
/// </remarks>
internal sealed unsafe class SseWorker : IDeliverySink
{
    private const int MaxEvents = 1024;

    /// <summary>At most this many deliveries kept per worker (<see cref="WorkerCommand.KeepDeliveries"/>): 3.2 MB.</summary>
    public const int MaxKeptDeliveries = 200_000;
    private const int ReceiveBufferSize = 256 * 1024;

    private readonly ConcurrentQueue<WorkerCommand> _commands = new();
    private readonly List<LoadConnection> _connections = [];
    private readonly Queue<LoadConnection> _toStart = new();
    private readonly Dictionary<string, long> _failures = new(StringComparer.Ordinal);
    private readonly LatencyHistogram _latency = new();
    private readonly LatencyHistogram _connectLatency = new();

    // WorkerCommand.KeepDeliveries: (sent, received) of each delivery since the last reset, flattened.
    private readonly List<long> _kept = [];
    private bool _keep;
    private readonly Lock _outputGate = new();
    private static readonly StreamWriter Output = new(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
    private readonly double _microsPerTick = 1_000_000.0 / Stopwatch.Frequency;
    private ConnectSpec? _spec;
    private int _epoll;
    private int _pending;
    private int _nextPing;
    private bool _stop;

    // Counters: written by the loop thread, read (possibly a moment stale) by the progress thread.
    private long _established;
    private long _failed;
    private long _closed;
    private long _received;
    private long _duplicates;
    private long _misrouted;
    private long _outOfOrder;
    private long _heartbeats;
    private long _bytes;

    public static int Run()
    {
        var limits = Native.RaiseOpenFilesLimit();
        Console.Error.WriteLine($"worker {Environment.ProcessId}: open files limit {limits.Soft}/{limits.Hard}");
        return new SseWorker().Loop();
    }

    private int Loop()
    {
        var reader = new Thread(ReadCommands) { IsBackground = true, Name = "commands" };
        reader.Start();
        var progress = new Thread(ReportProgress) { IsBackground = true, Name = "progress" };
        progress.Start();

        _epoll = Native.EpollCreate1(Native.EpollCloExec);
        if (_epoll < 0)
        {
            Fail($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
            return 1;
        }

        var buffer = (byte*)NativeMemory.Alloc(ReceiveBufferSize);
        var events = (Native.EpollEvent*)NativeMemory.Alloc((nuint)(MaxEvents * sizeof(Native.EpollEvent)));
        long lastTimeoutCheck = 0;
        try
        {
            while (!_stop)
            {
                while (_commands.TryDequeue(out var command))
                {
                    Handle(command);
                }

                StartConnections();
                var n = Native.EpollWait(_epoll, events, MaxEvents, 10);
                for (var i = 0; i < n; i++)
                {
                    var connection = _connections[(int)events[i].Data];
                    if (connection.State == ConnectionState.Connecting)
                    {
                        OnConnected(connection, events[i].Events);
                    }
                    else if (connection.State != ConnectionState.Done)
                    {
                        OnReadable(connection, buffer);
                    }
                }

                var now = Stopwatch.GetTimestamp();
                if (now - lastTimeoutCheck > Stopwatch.Frequency / 10)
                {
                    lastTimeoutCheck = now;
                    CheckTimeouts(now);
                    SendPings();
                }
            }
        }
        finally
        {
            NativeMemory.Free(buffer);
            NativeMemory.Free(events);
        }

        return 0;
    }

    private void Handle(WorkerCommand command)
    {
        switch (command.Cmd)
        {
            case "connect":
                _spec = command.Connect!;
                var signalR = _spec.Protocol == ConnectSpec.SignalR;
                var negotiate = signalR ? SignalRConnection.NegotiateRequest(_spec.Port) : [];
                for (var i = 0; i < _spec.Targets.Length; i++)
                {
                    LoadConnection connection = _spec.Protocol switch
                    {
                        ConnectSpec.SignalR => new SignalRConnection(_connections.Count, _spec.Topics[i], negotiate, _spec.Targets[i], _spec.Port),
                        ConnectSpec.WebSocket => new HeraldWsConnection(_connections.Count, _spec.Topics[i], _spec.Targets[i], _spec.Port),
                        ConnectSpec.Poll => new PollConnection(_connections.Count, _spec.Topics[i], _spec.Targets[i], _spec.Port),
                        _ => new SseConnection(_connections.Count, _spec.Topics[i], Encoding.ASCII.GetBytes(
                            $"GET {_spec.Targets[i]} HTTP/1.1\r\nHost: 127.0.0.1:{_spec.Port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n")),
                    };
                    _connections.Add(connection);
                    _toStart.Enqueue(connection);
                }

                break;
            case "stats":
                Write(Stats(command));
                if (command.Reset)
                {
                    _latency.Reset();
                    _kept.Clear();
                    _keep = command.KeepDeliveries;
                }

                break;
            case "close":
                foreach (var connection in _connections)
                {
                    if (connection.Fd >= 0)
                    {
                        Native.Close(connection.Fd);
                        connection.Fd = -1;
                    }
                }

                Write(new WorkerMessage("closed") { Counters = Counters() });
                _stop = true;
                break;
            default:
                Fail($"unknown command '{command.Cmd}'");
                break;
        }
    }

    private WorkerMessage Stats(WorkerCommand command)
    {
        long expected = 0;
        if (command.Published is { } published)
        {
            foreach (var connection in _connections)
            {
                if (connection.WasEstablished && connection.Topic < published.Length)
                {
                    expected += published[connection.Topic];
                }
            }
        }

        return new WorkerMessage("stats")
        {
            Counters = Counters(),
            Expected = expected,
            Latency = command.Histogram ? _latency.ToSparse() : null,
            LatencyMax = _latency.Max,
            Deliveries = command.Histogram && _keep ? _kept.ToArray() : null,
            ConnectLatency = command.Histogram ? _connectLatency.ToSparse() : null,
            ConnectLatencyMax = _connectLatency.Max,
            Failures = new Dictionary<string, long>(_failures, StringComparer.Ordinal),
        };
    }

    // Keeps at most MaxPending handshakes in flight: a burst of SYNs beyond the server's accept backlog
    // would be dropped and retried a second later, which measures the kernel, not the server.
    private void StartConnections()
    {
        if (_spec is null)
        {
            return;
        }

        while (_pending < _spec.MaxPending && _toStart.TryDequeue(out var connection))
        {
            Start(connection);
        }
    }

    private void Start(LoadConnection connection)
    {
        var spec = _spec!;
        connection.StartedTicks = Stopwatch.GetTimestamp();
        var fd = Native.Socket(Native.AfInet, Native.SockStream | Native.SockNonBlock | Native.SockCloExec, 0);
        if (fd < 0)
        {
            Failed(connection, "socket-errno-" + Marshal.GetLastPInvokeError());
            return;
        }

        connection.Fd = fd;
        var one = 1;
        Native.SetSockOpt(fd, Native.IpProtoTcp, Native.TcpNoDelay, &one, sizeof(int));
        // Spread source addresses over 127.0.0.x so that no address runs out of ephemeral ports.
        var source = spec.FirstSource + (connection.Index / Math.Max(1, spec.PerSource));
        var local = new Native.SockAddrIn { Family = Native.AfInet, AddressBigEndian = Native.Ipv4(127, 0, 0, (byte)Math.Min(source, 254)) };
        if (Native.Bind(fd, &local, sizeof(Native.SockAddrIn)) != 0)
        {
            Failed(connection, "bind-errno-" + Marshal.GetLastPInvokeError());
            return;
        }

        var remote = new Native.SockAddrIn
        {
            Family = Native.AfInet,
            PortBigEndian = Native.HostToNetwork((ushort)spec.Port),
            AddressBigEndian = Native.Ipv4(127, 0, 0, 1),
        };
        if (Native.Connect(fd, &remote, sizeof(Native.SockAddrIn)) != 0 && Marshal.GetLastPInvokeError() != Native.EInProgress)
        {
            Failed(connection, "connect-errno-" + Marshal.GetLastPInvokeError());
            return;
        }

        var ev = new Native.EpollEvent { Events = Native.EpollOut, Data = (ulong)connection.Index };
        if (Native.EpollCtl(_epoll, Native.EpollCtlAdd, fd, &ev) != 0)
        {
            Failed(connection, "epoll-errno-" + Marshal.GetLastPInvokeError());
            return;
        }

        connection.State = ConnectionState.Connecting;
        _pending++;
    }

    private void OnConnected(LoadConnection connection, uint flags)
    {
        int error = 0, length = sizeof(int);
        Native.GetSockOpt(connection.Fd, Native.SolSocket, Native.SoError, &error, &length);
        if (error != 0 || (flags & Native.EpollErr) != 0)
        {
            Failed(connection, "connect-errno-" + error);
            return;
        }

        fixed (byte* request = connection.Request)
        {
            // A few hundred bytes into an empty loopback socket buffer: always sent whole.
            if (Native.Send(connection.Fd, request, connection.Request.Length, Native.MsgNoSignal) != connection.Request.Length)
            {
                Failed(connection, "send-failed");
                return;
            }
        }

        var ev = new Native.EpollEvent { Events = Native.EpollIn | Native.EpollRdHup, Data = (ulong)connection.Index };
        Native.EpollCtl(_epoll, Native.EpollCtlMod, connection.Fd, &ev);
        connection.State = ConnectionState.AwaitingHeaders;
    }

    private void OnReadable(LoadConnection connection, byte* buffer)
    {
        while (true)
        {
            var n = Native.Recv(connection.Fd, buffer, ReceiveBufferSize, 0);
            if (n > 0)
            {
                _bytes += n;
                var wasAwaiting = connection.State == ConnectionState.AwaitingHeaders;
                var now = Stopwatch.GetTimestamp();
                var ok = connection.OnBytes(new ReadOnlySpan<byte>(buffer, (int)n), now, this, out var failure);
                if (wasAwaiting && connection.State == ConnectionState.Streaming)
                {
                    _pending--;
                    _established++;
                    connection.WasEstablished = true;
                    _connectLatency.Record((long)((now - connection.StartedTicks) * _microsPerTick));
                }

                if (!ok)
                {
                    if (connection.WasEstablished)
                    {
                        Ended(connection, failure ?? "protocol");
                    }
                    else
                    {
                        Failed(connection, failure ?? "protocol");
                    }

                    return;
                }

                if (n < ReceiveBufferSize)
                {
                    return;
                }

                continue;
            }

            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is Native.EAgain or Native.EIntr)
                {
                    return;
                }
            }

            // 0 = orderly close by the server; <0 = reset.
            if (connection.WasEstablished)
            {
                Ended(connection, n == 0 ? "server-closed" : "reset");
            }
            else
            {
                Failed(connection, n == 0 ? "closed-before-headers" : "reset-before-headers");
            }

            return;
        }
    }

    private void CheckTimeouts(long now)
    {
        if (_spec is null || _pending == 0)
        {
            return;
        }

        var limit = _spec.TimeoutMs * Stopwatch.Frequency / 1000;
        foreach (var connection in _connections)
        {
            if (connection.State is ConnectionState.Connecting or ConnectionState.AwaitingHeaders && now - connection.StartedTicks > limit)
            {
                Failed(connection, connection.State == ConnectionState.Connecting ? "connect-timeout" : "headers-timeout");
            }
        }
    }

    // SignalR clients ping every 15 s (the server drops one it has not heard from for 30 s). Called every 100 ms,
    // each call pings the next 1/150 of the connections, so the pings are spread over the interval, not a burst.
    private void SendPings()
    {
        if (_spec?.Protocol != ConnectSpec.SignalR || _connections.Count == 0)
        {
            return;
        }

        var slice = (_connections.Count + 149) / 150;
        for (var i = 0; i < slice; i++)
        {
            _nextPing = (_nextPing + 1) % _connections.Count;
            if (_connections[_nextPing] is SignalRConnection connection)
            {
                connection.SendPing();
            }
        }
    }

    private void Failed(LoadConnection connection, string reason)
    {
        if (connection.State is ConnectionState.Connecting or ConnectionState.AwaitingHeaders)
        {
            _pending--;
        }

        CloseSocket(connection);
        _failed++;
        CollectionsMarshal.GetValueRefOrAddDefault(_failures, reason, out _)++;
    }

    private void Ended(LoadConnection connection, string reason)
    {
        CloseSocket(connection);
        _closed++;
        CollectionsMarshal.GetValueRefOrAddDefault(_failures, "after-established:" + reason, out _)++;
    }

    private static void CloseSocket(LoadConnection connection)
    {
        connection.State = ConnectionState.Done;
        if (connection.Fd >= 0)
        {
            Native.Close(connection.Fd); // also removes it from the epoll set
            connection.Fd = -1;
        }
    }

    public void OnDelivery(LoadConnection connection, int topic, long seq, long sentTicks, long receivedTicks)
    {
        if (topic != connection.Topic || seq < 0)
        {
            _misrouted++;
            return;
        }

        if (!connection.MarkSeen(seq))
        {
            _duplicates++;
            return;
        }

        _received++;
        _latency.Record((long)((receivedTicks - sentTicks) * _microsPerTick));
        if (_keep && _kept.Count < 2 * MaxKeptDeliveries)
        {
            _kept.Add(sentTicks);
            _kept.Add(receivedTicks);
        }
    }

    public void OnComment() => _heartbeats++;

    public void OnOutOfOrder() => _outOfOrder++;

    private WorkerCounters Counters()
    {
        long maxSilence = 0;
        var now = Stopwatch.GetTimestamp();
        if (Volatile.Read(ref _established) > 0)
        {
            // Snapshot read from another thread: a connection list that grows meanwhile is fine to miss.
            var count = _connections.Count;
            for (var i = 0; i < count && i < _connections.Count; i++)
            {
                var c = _connections[i];
                if (c.State == ConnectionState.Streaming)
                {
                    maxSilence = Math.Max(maxSilence, now - c.LastByteTicks);
                }
            }
        }

        return new WorkerCounters
        {
            Requested = _spec?.Targets.Length ?? 0,
            Established = _established,
            Failed = _failed,
            Closed = _closed,
            Received = _received,
            Duplicates = _duplicates,
            Misrouted = _misrouted,
            OutOfOrder = _outOfOrder,
            Heartbeats = _heartbeats,
            Bytes = _bytes,
            MaxSilenceMs = maxSilence * 1000 / Stopwatch.Frequency,
            CpuMs = (long)Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds,
        };
    }

    private void ReadCommands()
    {
        var input = Console.In;
        while (input.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var command = JsonSerializer.Deserialize(line, WorkerJson.Default.WorkerCommand);
            if (command is not null)
            {
                _commands.Enqueue(command);
            }
        }

        // The coordinator went away: nothing left to report to.
        _commands.Enqueue(new WorkerCommand("close"));
    }

    private void ReportProgress()
    {
        while (!_stop)
        {
            Thread.Sleep(500);
            Write(new WorkerMessage("progress") { Counters = Counters() });
        }
    }

    private void Write(WorkerMessage message)
    {
        var json = JsonSerializer.Serialize(message, WorkerJson.Default.WorkerMessage);
        lock (_outputGate)
        {
            Output.WriteLine(json);
        }
    }

    private void Fail(string message)
    {
        Write(new WorkerMessage("error") { Message = message });
        _stop = true;
    }
}
