using System.Buffers;
using System.Net.WebSockets;
using Herald.Protocol;
using Herald.Protocol.Diagnostics;

namespace Herald.Bridge;

/// <summary>
/// One bridge client's WebSocket: reads its messages, runs its streams, and serializes their replies onto the
/// socket. Requests without an id run one at a time in arrival order (later ones wait in a bounded queue);
/// requests with an id run concurrently, each tagged with its id.
/// </summary>
/// <remarks>
/// Backpressure: a stream awaits each send before it reads more from upstream, and only one send is in flight
/// per socket, so a client that reads slowly slows every upstream read instead of growing a buffer. A send that
/// takes longer than <c>proxy.limits.sendTimeout</c> aborts the connection (a client that reads nothing cannot
/// receive a close frame either).
/// </remarks>
internal sealed class BridgeSession : IDisposable
{
    private readonly WebSocket _socket;
    private readonly BridgeService _service;
    private readonly CancellationTokenSource _streamsCts = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, BridgeStream> _tagged = new(StringComparer.Ordinal);
    private readonly Queue<OpenStreamMessage> _queue = new();
    private readonly HashSet<Task> _running = [];
    private readonly BridgeReplyWriter _replies = new();
    private readonly DateTimeOffset? _expiresAt;
    private BridgeStream? _sequential;
    private int _closeStarted;

    /// <param name="socket">The accepted WebSocket.</param>
    /// <param name="service">What every socket of this bridge shares.</param>
    /// <param name="client">The client's address and port, for logs.</param>
    /// <param name="address">The client's address as the limits count it (<c>maxStreamsPerAddress</c>).</param>
    /// <param name="expiresAt">When the operator token that admitted the socket expires; the socket closes then.</param>
    public BridgeSession(WebSocket socket, BridgeService service, string client, string address, DateTimeOffset? expiresAt = null)
    {
        _socket = socket;
        _service = service;
        Client = client;
        Address = address;
        _expiresAt = expiresAt;
    }

    /// <summary>The client's address and port, for logs.</summary>
    public string Client { get; }

    /// <summary>The client's address, the key of the per-address limits.</summary>
    public string Address { get; }

    public BridgeService Service => _service;

    public async Task RunAsync(CancellationToken aborted)
    {
        BridgeLog.ClientConnected(_service.Logger, Client);
        using var stopping = _service.Stopping.Register(() => _ = CloseAsync(Disconnect.ShuttingDown.Code, "Bridge shutting down"));
        // A socket never outlives the operator token that admitted it, as Herald's own streams do not.
        using var expiry = _expiresAt is { } at ? new CancellationTokenSource(ClampDelay(at - DateTimeOffset.UtcNow)) : null;
        using var expired = expiry?.Token.Register(() =>
        {
            BridgeLog.AuthExpired(_service.Logger, Client);
            _ = CloseAsync(Disconnect.AuthExpired.Code, "Operator token expired; reconnect with a fresh one");
        });
        var limit = _service.Policy.Limits.MaxMessageBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit, 4096));
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= limit)
                        {
                            BridgeLog.RejectedMessage(_service.Logger, Client, $"a message larger than {limit} bytes; closing with 1009");
                            await CloseAsync(WebSocketCloseStatus.MessageTooBig, $"Messages are limited to {limit} bytes");
                            return;
                        }

                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, buffer.Length * 2));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit) - length), aborted);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    length += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    await ReplyAsync(_replies.Error(null, "Binary messages are not supported; send the request as JSON text."));
                    continue;
                }

                await HandleAsync(BridgeRequestParser.Parse(buffer.AsMemory(0, length), _service.Policy.Limits.MaxBodyBytes));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client vanished or the connection was aborted (a send timed out); nothing is left to tell it.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await StopStreamsAsync();
            await CloseAsync(WebSocketCloseStatus.NormalClosure, "");
            BridgeLog.ClientDisconnected(_service.Logger, Client);
        }
    }

    /// <summary>Sends one reply. Waits its turn behind other streams' sends; the send itself is bounded by the send timeout.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired while waiting for the turn.</exception>
    /// <exception cref="WebSocketException">The connection is gone.</exception>
    public async Task SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            // Not the stream's token: cancelling a WebSocket send aborts the whole socket, and a client's cancel of
            // one stream must not end the others. Only the timeout may abort, and then aborting is the point.
            using var timeout = new CancellationTokenSource(_service.Policy.Limits.SendTimeout);
            try
            {
                await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                BridgeLog.SlowClient(_service.Logger, Client, _service.Policy.Limits.SendTimeout);
                _socket.Abort();
                throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The client did not read in time.");
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Like <see cref="SendAsync"/>, for final messages: failures mean the client is gone, and are ignored.</summary>
    public async Task TrySendAsync(ReadOnlyMemory<byte> message)
    {
        try
        {
            await SendAsync(message, CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    private Task ReplyAsync(ReadOnlyMemory<byte> message) => SendAsync(message, _streamsCts.Token);

    private async Task HandleAsync(ClientMessage message)
    {
        switch (message)
        {
            case InvalidMessage invalid:
                BridgeLog.RejectedMessage(_service.Logger, Client, LogValue.Sanitize(invalid.Error));
                await ReplyAsync(_replies.Error(invalid.Id, invalid.Error));
                break;
            case CancelStreamMessage cancel:
                await CancelAsync(cancel.Id);
                break;
            case OpenStreamMessage { Id: null } open:
                await OpenSequentialAsync(open);
                break;
            case OpenStreamMessage open:
                await OpenTaggedAsync(open);
                break;
        }
    }

    private async Task OpenTaggedAsync(OpenStreamMessage open)
    {
        string? refusal = null;
        lock (_gate)
        {
            if (_tagged.ContainsKey(open.Id!))
            {
                refusal = $"A stream with id {open.Id} is already active on this connection.";
            }
            else if (ActiveStreamCount() >= _service.Policy.Limits.MaxStreamsPerSocket)
            {
                refusal = $"Too many streams on this connection (proxy.limits.maxStreamsPerSocket: {_service.Policy.Limits.MaxStreamsPerSocket}).";
            }
            else if (!_service.StreamsPerAddress.TryAcquire(Address))
            {
                refusal = TooManyStreamsFromAddress;
            }
            else
            {
                var stream = new BridgeStream(this, open, _streamsCts.Token);
                _tagged.Add(open.Id!, stream);
                Track(RunTaggedAsync(stream));
            }
        }

        if (refusal is not null)
        {
            await ReplyAsync(_replies.Error(open.Id, refusal));
        }
    }

    private async Task RunTaggedAsync(BridgeStream stream)
    {
        // Yield first so the stream runs outside the gate and the receive loop, which holds neither for long.
        await Task.Yield();
        try
        {
            await stream.RunAsync();
        }
        finally
        {
            lock (_gate)
            {
                _tagged.Remove(stream.Id!);
            }

            _service.StreamsPerAddress.Release(Address);
            stream.Dispose();
        }
    }

    /// <summary>
    /// The seed's behaviour: one request at a time. A request that arrives while another streams waits its turn
    /// (up to <c>maxQueuedRequests</c>), so a client written for the seed sees the same replies in the same order.
    /// </summary>
    private async Task OpenSequentialAsync(OpenStreamMessage open)
    {
        var start = false;
        string? refusal = null;
        lock (_gate)
        {
            if (_sequential is null && _queue.Count == 0)
            {
                start = true;
            }
            else if (_queue.Count >= _service.Policy.Limits.MaxQueuedRequests)
            {
                refusal = $"Too many requests waiting (proxy.limits.maxQueuedRequests: {_service.Policy.Limits.MaxQueuedRequests}); send the next one after 'closed'.";
            }
            else
            {
                _queue.Enqueue(open);
            }

            if (start)
            {
                _sequential = new BridgeStream(this, open, _streamsCts.Token);
                Track(RunSequentialAsync(_sequential));
            }
        }

        if (refusal is not null)
        {
            await ReplyAsync(_replies.Error(null, refusal));
        }
    }

    private async Task RunSequentialAsync(BridgeStream first)
    {
        await Task.Yield();
        var stream = first;
        using var replies = new BridgeReplyWriter();
        while (true)
        {
            try
            {
                // The tagged streams may have taken every slot while this request waited in the queue.
                if (CountTagged() >= _service.Policy.Limits.MaxStreamsPerSocket)
                {
                    await TrySendAsync(replies.Error(null, $"Too many streams on this connection (proxy.limits.maxStreamsPerSocket: {_service.Policy.Limits.MaxStreamsPerSocket})."));
                }
                else if (!_service.StreamsPerAddress.TryAcquire(Address))
                {
                    await TrySendAsync(replies.Error(null, TooManyStreamsFromAddress));
                }
                else
                {
                    try
                    {
                        await stream.RunAsync();
                    }
                    finally
                    {
                        _service.StreamsPerAddress.Release(Address);
                    }
                }
            }
            finally
            {
                stream.Dispose();
            }

            lock (_gate)
            {
                if (_streamsCts.IsCancellationRequested || !_queue.TryDequeue(out var next))
                {
                    _sequential = null;
                    return;
                }

                stream = _sequential = new BridgeStream(this, next, _streamsCts.Token);
            }
        }
    }

    private async Task CancelAsync(string? id)
    {
        BridgeStream? stream;
        lock (_gate)
        {
            if (id is null)
            {
                stream = _sequential;
            }
            else
            {
                _tagged.TryGetValue(id, out stream);
            }
        }

        if (stream is null)
        {
            await ReplyAsync(_replies.Error(id, id is null ? "No stream without id is active to cancel." : $"No active stream with id {id}."));
            return;
        }

        // The stream itself answers with 'closed' once it has stopped, so that reply comes after its last event.
        stream.Cancel();
    }

    private string TooManyStreamsFromAddress =>
        $"Too many streams from your address (proxy.limits.maxStreamsPerAddress: {_service.Policy.Limits.MaxStreamsPerAddress}); end one first.";

    private static TimeSpan ClampDelay(TimeSpan delay) =>
        delay <= TimeSpan.Zero ? TimeSpan.Zero : delay > TimeSpan.FromDays(24) ? TimeSpan.FromDays(24) : delay;

    private int ActiveStreamCount() => _tagged.Count + (_sequential is null ? 0 : 1);

    private int CountTagged()
    {
        lock (_gate)
        {
            return _tagged.Count;
        }
    }

    private void Track(Task task)
    {
        _running.Add(task);
        _ = task.ContinueWith(t =>
        {
            lock (_gate)
            {
                _running.Remove(t);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task StopStreamsAsync()
    {
        Task[] running;
        lock (_gate)
        {
            _queue.Clear();
            running = [.. _running];
        }

        await _streamsCts.CancelAsync();
        try
        {
            // Streams stop at their next await; the send timeout bounds the slowest of them.
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromMilliseconds(_service.Policy.Limits.SendTimeout + 1000));
        }
        catch (Exception)
        {
            // A stream's own failures were reported to the client already; here only its end matters.
        }
    }

    private async Task CloseAsync(WebSocketCloseStatus status, string description)
    {
        if (Interlocked.Exchange(ref _closeStarted, 1) != 0)
        {
            return;
        }

        if (status != WebSocketCloseStatus.NormalClosure)
        {
            await StopStreamsAsync();
        }

        try
        {
            using var timeout = new CancellationTokenSource(_service.Policy.Limits.SendTimeout);
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(status, description, timeout.Token);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _replies.Dispose();
        _streamsCts.Dispose();
        _sendLock.Dispose();
    }

    private Task CloseAsync(int code, string description) => CloseAsync((WebSocketCloseStatus)code, description);
}
