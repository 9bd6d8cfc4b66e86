using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Redis.Internal;

/// <summary>
/// Owns the current <see cref="RedisPhysicalConnection"/> of a client: opens it (socket, TLS, AUTH, SELECT,
/// CLIENT SETNAME, then the owner's own initialisation), watches it, and replaces it with jittered exponential backoff
/// when it dies. Every state change happens on one async flow, so the events it raises are strictly ordered.
/// </summary>
internal sealed class ConnectionSupervisor : IAsyncDisposable
{
    private readonly RedisClientOptions _options;
    private readonly ILogger _logger;
    private readonly string _role;
    private readonly PushFrameHandler? _pushHandler;
    private readonly Func<RedisPhysicalConnection, CancellationToken, Task>? _initialize;
    private readonly Func<CancellationToken, Task>? _beforeReconnect;
    private readonly Action<bool, Exception?> _stateChanged;
    private readonly Action? _reconnected;
    private readonly CancellationTokenSource _stop = new();
    private volatile RedisPhysicalConnection? _current;
    private Task _monitor = Task.CompletedTask;
    private long _reconnectCount;
    private int _disposed;

    /// <param name="options">Validated client options.</param>
    /// <param name="role">"connection" or "subscriber", for log messages.</param>
    /// <param name="pushHandler">Sees every received frame first (the subscriber's message path).</param>
    /// <param name="initialize">Runs after the handshake on every new connection, before it counts as connected.</param>
    /// <param name="beforeReconnect">Awaited before each reconnect attempt (the subscriber waits for its consumer).</param>
    /// <param name="stateChanged">Called with false when the connection is lost and true when it is back.</param>
    /// <param name="reconnected">Called after stateChanged(true) on every reconnect (not the first connect).</param>
    public ConnectionSupervisor(
        RedisClientOptions options,
        string role,
        PushFrameHandler? pushHandler,
        Func<RedisPhysicalConnection, CancellationToken, Task>? initialize,
        Func<CancellationToken, Task>? beforeReconnect,
        Action<bool, Exception?> stateChanged,
        Action? reconnected)
    {
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        _role = role;
        _pushHandler = pushHandler;
        _initialize = initialize;
        _beforeReconnect = beforeReconnect;
        _stateChanged = stateChanged;
        _reconnected = reconnected;
    }

    /// <summary>The newest connection; it may already be closed, in which case sends to it fail fast.</summary>
    public RedisPhysicalConnection? Current => _current;

    public bool IsConnected => _disposed == 0 && _current is { IsClosed: false };

    public long ReconnectCount => Interlocked.Read(ref _reconnectCount);

    /// <summary>Why the last connection or connection attempt failed, for error messages.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Tasks still running in the background; all complete once <see cref="DisposeAsync"/> returns.</summary>
    internal Task Monitor => _monitor;

    /// <summary>Makes the first connection; throws if it fails, and only then starts watching it.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var physical = await OpenAsync(linked.Token).ConfigureAwait(false);
        _current = physical;
        RedisLog.Connected(_logger, _role, _options.Endpoint);
        _monitor = MonitorAsync(physical);
    }

    /// <summary>The fail-fast error for a command issued while disconnected.</summary>
    public RedisConnectionException NotConnected(string what, string? advice = null) => new(
        $"{what} failed: not connected to {_options.Endpoint}; reconnecting in the background"
        + (LastError is null ? "." : $" (last error: {LastError.Message}).") + advice,
        LastError);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _monitor.ConfigureAwait(false);
            return;
        }

        // Stop first, so the monitor cannot install a new connection after we looked at the current one (it checks
        // the token after installing and disposes what it installed).
        _stop.Cancel();
        var current = _current;
        if (current is not null)
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }

        await _monitor.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task MonitorAsync(RedisPhysicalConnection physical)
    {
        var token = _stop.Token;
        while (true)
        {
            try
            {
                await SuperviseAsync(physical, token).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                // Nothing in SuperviseAsync is expected to throw (a logger can); if it does, supervising must go on, or the
                // client would never reconnect again. It resumes with the newest connection (a closed one is replaced at
                // once), after the minimum delay so that a fault on every turn cannot spin.
                LogSafely(ex);
                physical = _current ?? physical;
                try
                {
                    await Task.Delay(_options.ReconnectMinDelay, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (Exception)
            {
                return;
            }
        }
    }

    private void LogSafely(Exception exception)
    {
        try
        {
            RedisLog.SupervisionFault(_logger, _role, _options.Endpoint, exception);
        }
        catch (Exception)
        {
            // The logger may be what failed; the fault is not worth ending supervision for.
        }
    }

    private async Task SuperviseAsync(RedisPhysicalConnection physical, CancellationToken token)
    {
        while (true)
        {
            var heartbeat = HeartbeatAsync(physical, token);
            var reason = await physical.Completion.ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            if (token.IsCancellationRequested)
            {
                return;
            }

            LastError = reason;
            RedisLog.ConnectionLost(_logger, _role, _options.Endpoint, reason);
            Raise(() => _stateChanged(false, reason));

            var next = await ReconnectAsync(token).ConfigureAwait(false);
            if (next is null)
            {
                return;
            }

            _current = next;
            if (token.IsCancellationRequested)
            {
                await next.DisposeAsync().ConfigureAwait(false);
                return;
            }

            physical = next;
            Interlocked.Increment(ref _reconnectCount);
            RedisLog.Reconnected(_logger, _role, _options.Endpoint);
            Raise(() => _stateChanged(true, null));
            if (_reconnected is not null)
            {
                Raise(_reconnected);
            }
        }
    }

    /// <summary>
    /// PINGs <paramref name="physical"/> every interval and aborts it when a PING goes unanswered for another interval.
    /// Ends soon after the connection closes.
    /// </summary>
    private async Task HeartbeatAsync(RedisPhysicalConnection physical, CancellationToken token)
    {
        var interval = _options.HeartbeatInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            while (true)
            {
                await Task.WhenAny(physical.Completion, Task.Delay(interval, token)).ConfigureAwait(false);
                if (physical.IsClosed || token.IsCancellationRequested)
                {
                    return;
                }

                var ping = new CommandRequest("PING", []);
                if (physical.TrySend(ping, bypassLimit: true) != SendResult.Sent)
                {
                    return;
                }

                // A failed PING means the connection is closing anyway; the next turn of the loop notices.
                var answered = await Task.WhenAny(ping.Task, Task.Delay(interval, token)).ConfigureAwait(false) == ping.Task;
                if (ping.Task.IsFaulted)
                {
                    _ = ping.Task.Exception;
                }

                if (!answered && !token.IsCancellationRequested)
                {
                    physical.Abort(new RedisConnectionException(
                        $"{_options.Endpoint} did not answer PING within {interval.TotalSeconds:0.###} s."));
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            RedisLog.HeartbeatFault(_logger, _role, _options.Endpoint, ex);
        }
    }

    private async Task<RedisPhysicalConnection?> ReconnectAsync(CancellationToken token)
    {
        var random = Random.Shared;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (_beforeReconnect is not null)
                {
                    await _beforeReconnect(token).ConfigureAwait(false);
                }

                await Task.Delay(
                    Backoff.Compute(attempt, _options.ReconnectMinDelay, _options.ReconnectMaxDelay, random), token).ConfigureAwait(false);
                return await OpenAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception ex)
            {
                LastError = ex;
                RedisLog.ReconnectFailed(_logger, _role, attempt + 1, _options.Endpoint, ex.Message);
            }
        }
    }

    private async Task<RedisPhysicalConnection> OpenAsync(CancellationToken token)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(_options.ConnectTimeout);
        RedisPhysicalConnection? physical = null;
        try
        {
            physical = await RedisPhysicalConnection.ConnectAsync(_options, _pushHandler, timeout.Token).ConfigureAwait(false);
            await HandshakeAsync(physical, timeout.Token).ConfigureAwait(false);
            if (_initialize is not null)
            {
                await _initialize(physical, timeout.Token).ConfigureAwait(false);
            }

            return physical;
        }
        catch (Exception ex)
        {
            if (physical is not null)
            {
                await physical.DisposeAsync().ConfigureAwait(false);
            }

            if (token.IsCancellationRequested)
            {
                throw;
            }

            throw ex switch
            {
                OperationCanceledException => new RedisConnectionException(
                    $"Connecting to {_options.Endpoint} timed out after {_options.ConnectTimeout.TotalSeconds:0.###} s.", ex),
                RedisConnectionException connection => connection,
                _ => new RedisConnectionException($"Connecting to {_options.Endpoint} failed: {ex.Message}", ex),
            };
        }
    }

    private async Task HandshakeAsync(RedisPhysicalConnection physical, CancellationToken token)
    {
        var endpoint = _options.Endpoint;
        var requests = new List<CommandRequest>(4);
        if (endpoint.User is not null)
        {
            requests.Add(new CommandRequest("AUTH", [endpoint.User, endpoint.Password ?? string.Empty]));
        }
        else if (endpoint.Password is not null)
        {
            requests.Add(new CommandRequest("AUTH", [endpoint.Password]));
        }

        if (endpoint.Database != 0)
        {
            requests.Add(new CommandRequest("SELECT", [endpoint.Database]));
        }

        if (_options.ClientName is not null)
        {
            requests.Add(new CommandRequest("CLIENT", ["SETNAME", _options.ClientName]));
        }

        // PING last: it proves the server answers, and it fails with NOAUTH when a password is required but missing.
        requests.Add(new CommandRequest("PING", []));

        // All pipelined in one write; the replies are checked in order so the first failure is the one reported.
        foreach (var request in requests)
        {
            if (physical.TrySend(request, bypassLimit: true) != SendResult.Sent)
            {
                throw new RedisConnectionException($"The connection to {endpoint} closed during the handshake.");
            }
        }

        foreach (var request in requests)
        {
            try
            {
                await request.Task.WaitAsync(token).ConfigureAwait(false);
            }
            catch (RedisServerException ex)
            {
                throw new RedisConnectionException(DescribeHandshakeError(request.Command, ex), ex);
            }
        }
    }

    private string DescribeHandshakeError(string command, RedisServerException error)
    {
        var endpoint = _options.Endpoint;
        return error.ErrorCode switch
        {
            "NOAUTH" => $"{endpoint} requires a password: give it in the URL, as in redis://:password@host:port "
                + $"({error.Message}).",
            "WRONGPASS" => $"Authentication to {endpoint} failed: wrong user name or password ({error.Message}).",
            _ when command == "AUTH" => $"Authentication to {endpoint} failed: {error.Message}",
            _ => $"{command} failed while connecting to {endpoint}: {error.Message}",
        };
    }

    private void Raise(Action handler)
    {
        try
        {
            handler();
        }
        catch (Exception ex)
        {
            // A throwing event handler must not stop the reconnect machinery.
            RedisLog.HandlerFault(_logger, _role, ex);
        }
    }
}
