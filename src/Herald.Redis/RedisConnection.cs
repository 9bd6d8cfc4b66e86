using System.Collections.Frozen;
using System.Diagnostics;
using Herald.Redis.Internal;
using Herald.Redis.Protocol;

namespace Herald.Redis;

/// <summary>
/// A multiplexed command connection: any number of callers share one socket, commands are pipelined (written in
/// batches, many in flight at once) and each reply goes to its command in order.
/// </summary>
/// <remarks>
/// <para>
/// After <see cref="ConnectAsync"/> succeeds, a lost connection is re-established in the background with jittered
/// exponential backoff (<see cref="RedisClientOptions.ReconnectMinDelay"/> to
/// <see cref="RedisClientOptions.ReconnectMaxDelay"/>); AUTH, SELECT and CLIENT SETNAME are repeated each time.
/// Meanwhile commands fail at once with <see cref="RedisConnectionException"/>: nothing is queued for later, so an
/// outage costs no memory and callers decide themselves what to retry. Commands in flight when the connection drops
/// fail the same way (the server may or may not have executed them).
/// </para>
/// <para>
/// All members are thread-safe; one instance is meant to be shared by the whole process.
/// </para>
/// <para>
/// Argument buffers (<c>byte[]</c>, <see cref="ReadOnlyMemory{T}"/>) are read when the command is written, which is
/// before its task completes: do not modify them until then.
/// </para>
/// </remarks>
public sealed class RedisConnection : IAsyncDisposable
{
    // Commands that change how the connection replies (push mode, streams of output, another protocol, closing it)
    // would break the one-reply-per-command pipeline that every other caller shares.
    private static readonly FrozenSet<string> RejectedCommands = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "SUBSCRIBE",
        "PSUBSCRIBE",
        "SSUBSCRIBE",
        "UNSUBSCRIBE",
        "PUNSUBSCRIBE",
        "SUNSUBSCRIBE",
        "MONITOR",
        "HELLO",
        "RESET",
        "QUIT",
        "SYNC",
        "PSYNC");

    private readonly ConnectionSupervisor _supervisor;
    private int _disposed;

    private RedisConnection(RedisClientOptions options)
    {
        Endpoint = options.Endpoint;
        _supervisor = new ConnectionSupervisor(
            options,
            "connection",
            pushHandler: null,
            initialize: null,
            beforeReconnect: null,
            stateChanged: (connected, error) => StateChanged?.Invoke(this, new(connected, error)),
            reconnected: null);
    }

    /// <summary>
    /// Raised when the connection is lost (<see cref="RedisConnectionStateChangedEventArgs.IsConnected"/> false) and
    /// when it is re-established (true). Raised in order, from a background task; not raised for the first connect
    /// or by <see cref="DisposeAsync"/>. Handlers should be quick and must not block.
    /// </summary>
    public event EventHandler<RedisConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>The server this connection talks to.</summary>
    public RedisEndpoint Endpoint { get; }

    /// <summary>True while a connection is established and commands can be sent.</summary>
    public bool IsConnected => _disposed == 0 && _supervisor.IsConnected;

    /// <summary>How many times the connection has been re-established after a loss.</summary>
    public long ReconnectCount => _supervisor.ReconnectCount;

    internal Task BackgroundWork => _supervisor.Monitor;

    /// <summary>
    /// Connects and authenticates. Throws <see cref="RedisConnectionException"/> if this first attempt fails (no
    /// background retry is started then); later losses are handled by reconnecting in the background.
    /// </summary>
    public static async Task<RedisConnection> ConnectAsync(
        RedisClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var connection = new RedisConnection(options);
        try
        {
            await connection._supervisor.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>
    /// Sends <paramref name="command"/> with <paramref name="args"/> (each a <see cref="string"/>,
    /// <c>byte[]</c>, <see cref="ReadOnlyMemory{T}"/> of bytes, <see cref="long"/> or <see cref="int"/>) and
    /// returns the reply. <paramref name="command"/> is one word; subcommands are arguments
    /// (<c>ExecuteAsync("CLIENT", "LIST")</c>).
    /// </summary>
    /// <exception cref="ArgumentException">An argument has an unsupported type, or the command is one that cannot be
    /// multiplexed (SUBSCRIBE and friends: use <see cref="RedisSubscriber"/>; MONITOR, HELLO, QUIT, RESET...).</exception>
    /// <exception cref="RedisServerException">The server replied with an error (through the task).</exception>
    /// <exception cref="RedisConnectionException">Not connected, the connection was lost before the reply, or too many
    /// commands are pending (through the task).</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public Task<RespValue> ExecuteAsync(string command, params object[] args)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        ArgumentNullException.ThrowIfNull(args);
        if (RejectedCommands.Contains(command))
        {
            throw new ArgumentException(
                $"{command.ToUpperInvariant()} cannot be sent on a shared, pipelined connection"
                + (command.Contains("SUBSCRIBE", StringComparison.OrdinalIgnoreCase) ? "; use RedisSubscriber." : "."),
                nameof(command));
        }

        RespWriter.ValidateArguments(args);
        var physical = _supervisor.Current;
        if (physical is null)
        {
            return Task.FromException<RespValue>(_supervisor.NotConnected(command));
        }

        var request = new CommandRequest(command, args);
        return physical.TrySend(request) switch
        {
            SendResult.Sent => request.Task,
            SendResult.Overloaded => Task.FromException<RespValue>(new RedisConnectionException(
                $"{command} failed: {Endpoint} has more than the allowed number of pending commands "
                + "(RedisClientOptions.MaxPendingCommands); the server is not keeping up.")),
            _ => Task.FromException<RespValue>(_supervisor.NotConnected(command)),
        };
    }

    /// <summary>Publishes <paramref name="payload"/> on <paramref name="channel"/>; returns how many subscribers got it.</summary>
    public async Task<long> PublishAsync(string channel, ReadOnlyMemory<byte> payload)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        var reply = await ExecuteAsync("PUBLISH", channel, payload).ConfigureAwait(false);
        return reply.AsInt64();
    }

    /// <summary>Sends PING and returns the round-trip time (including any commands queued ahead of it).</summary>
    public async Task<TimeSpan> PingAsync()
    {
        var start = Stopwatch.GetTimestamp();
        var reply = await ExecuteAsync("PING").ConfigureAwait(false);
        if (reply.Type != RespType.SimpleString || reply.AsString() != "PONG")
        {
            throw new RedisProtocolException($"PING was answered with {reply}.");
        }

        return Stopwatch.GetElapsedTime(start);
    }

    /// <summary>
    /// Closes the connection and stops reconnecting. Pending commands fail with
    /// <see cref="RedisConnectionException"/>; later calls throw <see cref="ObjectDisposedException"/>. Returns once
    /// the socket is closed and no background work is left.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _supervisor.DisposeAsync().ConfigureAwait(false);
        }
    }
}
