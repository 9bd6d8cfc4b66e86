using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using Herald.Redis.Protocol;

namespace Herald.Redis.Internal;

/// <summary>
/// One socket to the server: a single writer loop that batches queued commands and flushes once per batch, and a
/// single reader loop that matches replies to commands in order. It never reconnects; when anything goes wrong it
/// closes for good, fails every pending command, and completes <see cref="Completion"/>.
/// </summary>
internal sealed class RedisPhysicalConnection : IAsyncDisposable
{
    // Flushing mid-batch above this keeps a burst of large commands from piling up in memory before the first byte
    // is sent.
    private const int FlushThreshold = 64 * 1024;
    private const int BufferSize = 16 * 1024;

    private static long _nextId;

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Channel<RedisRequest> _outbox =
        Channel.CreateUnbounded<RedisRequest>(new UnboundedChannelOptions { SingleReader = true });

    // Written only by the writer loop, read only by the reader loop (and by the teardown once both have stopped), under
    // its own lock. Not a ConcurrentQueue: the reader must peek at the head (a subscription request takes several
    // replies), and ConcurrentQueue.TryPeek marks the segment "preserved for observation", after which dequeued slots
    // are no longer cleared and every 32 requests get a new segment linked from the old one. Each dead segment that
    // a collection had already promoted then kept its successor alive through the link: in the two-node benchmark
    // (3,000 PUBLISH/s) every gen0 collection copied ~2 MB of finished requests to gen1, and gen0 pauses tripled.
    private readonly Queue<RedisRequest> _inFlight = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly PushFrameHandler? _pushHandler;
    private readonly RedisEndpoint _endpoint;
    private readonly int _maxPending;
    private readonly Task<Exception> _completion;
    private RespFrameScanner _scanner;
    private int _pending;
    private Exception? _closeReason;

    private RedisPhysicalConnection(Socket socket, Stream stream, RedisClientOptions options, PushFrameHandler? pushHandler)
    {
        Id = Interlocked.Increment(ref _nextId);
        _socket = socket;
        _stream = stream;
        _endpoint = options.Endpoint;
        _maxPending = options.MaxPendingCommands;
        _pushHandler = pushHandler;
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: BufferSize, leaveOpen: true));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: BufferSize, leaveOpen: true));
        _completion = RunAsync();
    }

    /// <summary>A process-wide number for log messages.</summary>
    public long Id { get; }

    /// <summary>True once the connection has started closing; no request is accepted after that.</summary>
    public bool IsClosed => Volatile.Read(ref _closeReason) is not null;

    /// <summary>Completes, with the reason, once the connection is closed and every pending request has failed.</summary>
    public Task<Exception> Completion => _completion;

    /// <summary>Opens the socket (and TLS). Cancel <paramref name="cancellationToken"/> to enforce a timeout.</summary>
    public static async Task<RedisPhysicalConnection> ConnectAsync(
        RedisClientOptions options, PushFrameHandler? pushHandler, CancellationToken cancellationToken)
    {
        var endpoint = options.Endpoint;
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new RedisConnectionException($"The host of {endpoint} has no address.");
        }

        Exception? lastError = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            Stream? stream = null;
            try
            {
                EnableKeepAlive(socket);
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), cancellationToken).ConfigureAwait(false);
                stream = new NetworkStream(socket, ownsSocket: true);
                if (endpoint.UseTls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = ssl;
                    await ssl.AuthenticateAsClientAsync(
                        new SslClientAuthenticationOptions
                        {
                            TargetHost = endpoint.Host,
                            RemoteCertificateValidationCallback = options.RemoteCertificateValidationCallback,
                        },
                        cancellationToken).ConfigureAwait(false);
                }

                return new RedisPhysicalConnection(socket, stream, options, pushHandler);
            }
            catch (Exception ex)
            {
                if (stream is not null)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }

                socket.Dispose();
                if (ex is OperationCanceledException)
                {
                    throw;
                }

                lastError = ex;
            }
        }

        throw new RedisConnectionException($"Could not connect to {endpoint}: {lastError!.Message}", lastError);
    }

    /// <summary>
    /// Queues <paramref name="request"/> for the writer loop. Requests are written, and so answered, in the order they
    /// were queued. <paramref name="bypassLimit"/> is for the few internal commands (handshake, subscriptions) that
    /// must not be refused because user commands filled the queue.
    /// </summary>
    public SendResult TrySend(RedisRequest request, bool bypassLimit = false)
    {
        if (Interlocked.Increment(ref _pending) > _maxPending && !bypassLimit)
        {
            Interlocked.Decrement(ref _pending);
            return SendResult.Overloaded;
        }

        if (!_outbox.Writer.TryWrite(request))
        {
            Interlocked.Decrement(ref _pending);
            return SendResult.Closed;
        }

        return SendResult.Sent;
    }

    /// <summary>Starts closing the connection (idempotent; only the first reason is kept).</summary>
    public void Abort(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, reason, null) is not null)
        {
            return;
        }

        _outbox.Writer.TryComplete();
        _abort.Cancel();

        // Closing the socket is what reliably wakes a read or a flush that is blocked in the kernel.
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    /// <summary>Closes the connection and waits until every pending request has failed.</summary>
    public async ValueTask DisposeAsync()
    {
        Abort(new RedisConnectionException($"The connection to {_endpoint} was closed by the client."));
        await _completion.ConfigureAwait(false);
    }

    private static void EnableKeepAlive(Socket socket)
    {
        // A server that vanishes without a FIN or RST (host down, network cut) is otherwise only noticed when a command
        // times out, which an idle subscriber never sends. These probe after 30 s of silence and give up after ~45 s.
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 5);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
        }
        catch (SocketException)
        {
        }
        catch (PlatformNotSupportedException)
        {
        }
    }

    private async Task<Exception> RunAsync()
    {
        // Both loops catch everything and call Abort, so this await never throws; it just waits for both to stop.
        await Task.WhenAll(ReadLoopAsync(), WriteLoopAsync()).ConfigureAwait(false);
        var reason = Volatile.Read(ref _closeReason)!;

        // Only now, with both loops stopped, can nothing more be added to the queues: fail what is left.
        while (_outbox.Reader.TryRead(out var request))
        {
            request.TrySetException(Failure(request, reason));
        }

        RedisRequest[] unanswered;
        lock (_inFlight)
        {
            unanswered = [.. _inFlight];
            _inFlight.Clear();
        }

        foreach (var request in unanswered)
        {
            request.TrySetException(Failure(request, reason));
        }

        try
        {
            await _input.CompleteAsync().ConfigureAwait(false);
            await _output.CompleteAsync().ConfigureAwait(false);
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The socket is already gone; whatever the pipes or the TLS stream say about it adds nothing.
        }

        // _abort is deliberately not disposed: a racing Abort may still call Cancel on it, and a token source without
        // a timer holds nothing that needs releasing.
        return reason;
    }

    private RedisConnectionException Failure(RedisRequest request, Exception reason) =>
        new($"{request.Command} failed: the connection to {_endpoint} was lost ({reason.Message}).", reason);

    private async Task WriteLoopAsync()
    {
        var token = _abort.Token;
        var outbox = _outbox.Reader;
        try
        {
            while (await outbox.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (outbox.TryRead(out var request))
                {
                    try
                    {
                        request.Write(_output);
                    }
                    catch (Exception ex)
                    {
                        // Part of the command may be in the buffer, so the stream is corrupt: fail it and close.
                        request.TrySetException(ex);
                        throw;
                    }

                    // Before the flush, so the reply can never arrive ahead of its request in the queue.
                    lock (_inFlight)
                    {
                        _inFlight.Enqueue(request);
                    }
                    if (_output.UnflushedBytes >= FlushThreshold)
                    {
                        await FlushAsync(token).ConfigureAwait(false);
                    }
                }

                await FlushAsync(token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Abort(new RedisConnectionException($"Writing to {_endpoint} failed: {ex.Message}", ex));
        }
    }

    private async ValueTask FlushAsync(CancellationToken token)
    {
        var result = await _output.FlushAsync(token).ConfigureAwait(false);
        if (result.IsCompleted)
        {
            throw new RedisConnectionException("The socket no longer accepts data.");
        }
    }

    private async Task ReadLoopAsync()
    {
        var token = _abort.Token;
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (!token.IsCancellationRequested && _scanner.TryScan(buffer, out var length))
                {
                    OnFrame(buffer.Slice(0, length));
                    buffer = buffer.Slice(length);
                }

                // Consumed up to the last whole frame, examined everything: the next read waits for new bytes.
                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    Abort(new RedisConnectionException(buffer.IsEmpty
                        ? $"{_endpoint} closed the connection."
                        : $"{_endpoint} closed the connection in the middle of a reply."));
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (RedisProtocolException ex)
        {
            Abort(ex);
        }
        catch (Exception ex)
        {
            Abort(new RedisConnectionException($"Reading from {_endpoint} failed: {ex.Message}", ex));
        }
    }

    private void OnFrame(in ReadOnlySequence<byte> frame)
    {
        if (_pushHandler is not null && _pushHandler(this, frame))
        {
            return;
        }

        var reply = RespParser.ParseFrame(frame);
        RedisRequest? request;
        lock (_inFlight)
        {
            _inFlight.TryPeek(out request);
        }

        if (request is null)
        {
            throw new RedisProtocolException($"Received a reply no command was waiting for: {reply}.");
        }

        if (request.OnReply(reply))
        {
            lock (_inFlight)
            {
                _inFlight.Dequeue();
            }

            Interlocked.Decrement(ref _pending);
        }
    }
}
