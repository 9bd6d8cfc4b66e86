using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Threading.Channels;
using Herald.Redis.Internal;
using Herald.Redis.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Redis;

/// <summary>
/// A dedicated pub/sub connection. Messages for the channels and patterns subscribed to arrive, in order, on
/// <see cref="Messages"/>.
/// </summary>
/// <remarks>
/// <para>
/// All members are thread-safe. Subscription changes are sent in the order they are made.
/// </para>
/// <para>
/// <b>Subscriptions survive reconnects.</b> The subscriber keeps the set of channels and patterns asked for. When the
/// connection is lost it reconnects with jittered exponential backoff, re-issues every subscription, and once the
/// server has confirmed them all raises <see cref="StateChanged"/> (true) and then <see cref="Reconnected"/>. Messages
/// published while it was disconnected are lost (Redis pub/sub keeps nothing), so a handler of
/// <see cref="Reconnected"/> should catch up from the source of truth. Calling <see cref="SubscribeAsync"/> while
/// disconnected fails fast with <see cref="RedisConnectionException"/>, but the channel is still added to the set
/// and will be subscribed on reconnect.
/// </para>
/// <para>
/// <b>Slow consumers.</b> <see cref="Messages"/> holds at most <see cref="RedisClientOptions.MessageQueueCapacity"/>
/// messages. If the consumer falls that far behind, the subscriber does not grow memory and does not block the
/// socket (which would only move the backlog into Redis's output buffer until Redis drops us anyway): it drops the
/// connection, waits until the consumer has worked the queue down to half its capacity, reconnects and raises
/// <see cref="Reconnected"/>, so the consumer catches up exactly as after any other outage. Messages already queued
/// are kept and delivered first; the handler must tolerate seeing some of them again in its catch-up.
/// </para>
/// <para>
/// Messages that arrive for a channel or pattern after <see cref="UnsubscribeAsync"/> (or
/// <see cref="PUnsubscribeAsync"/>) was called are dropped, even before the server confirms.
/// </para>
/// </remarks>
public sealed class RedisSubscriber : IAsyncDisposable
{
    // Channel names that decode to at most this many chars are looked up without allocating.
    private const int StackNameLength = 256;

    private readonly RedisClientOptions _options;
    private readonly ILogger _logger;
    private readonly ConnectionSupervisor _supervisor;
    private readonly Channel<RedisMessage> _messages;

    // The desired subscriptions. Changed only under _gate, together with sending the matching command, so the order of
    // commands on the wire always matches the order of changes; read lock-free by the message path.
    private readonly ConcurrentDictionary<string, byte> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _patterns = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte>.AlternateLookup<ReadOnlySpan<char>> _channelLookup;
    private readonly ConcurrentDictionary<string, byte>.AlternateLookup<ReadOnlySpan<char>> _patternLookup;
    private readonly Lock _gate = new();
    private RedisPhysicalConnection? _physical;
    private volatile bool _overflowed;
    private int _disposed;

    private RedisSubscriber(RedisClientOptions options)
    {
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        Endpoint = options.Endpoint;
        _channelLookup = _channels.GetAlternateLookup<ReadOnlySpan<char>>();
        _patternLookup = _patterns.GetAlternateLookup<ReadOnlySpan<char>>();
        _messages = Channel.CreateBounded<RedisMessage>(new BoundedChannelOptions(options.MessageQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        _supervisor = new ConnectionSupervisor(
            options,
            "subscriber",
            OnPushFrame,
            ResubscribeAsync,
            WaitForConsumerAsync,
            (connected, error) => StateChanged?.Invoke(this, new(connected, error)),
            () => Reconnected?.Invoke(this, EventArgs.Empty));
    }

    /// <summary>
    /// Raised when the connection is lost (false) and when it is back with every subscription confirmed (true). Raised
    /// in order, from a background task; not for the first connect or by <see cref="DisposeAsync"/>.
    /// </summary>
    public event EventHandler<RedisConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>
    /// Raised after a reconnect, once every subscription has been confirmed again (right after
    /// <see cref="StateChanged"/>): the moment to catch up on messages missed while disconnected.
    /// </summary>
    public event EventHandler? Reconnected;

    /// <summary>The server this subscriber listens to.</summary>
    public RedisEndpoint Endpoint { get; }

    /// <summary>
    /// The received messages, in the order the server sent them. Bounded: see the remarks on
    /// <see cref="RedisSubscriber"/> for what happens when the consumer falls behind. Completed by
    /// <see cref="DisposeAsync"/>.
    /// </summary>
    public ChannelReader<RedisMessage> Messages => _messages.Reader;

    /// <summary>True while connected with every subscription confirmed.</summary>
    public bool IsConnected => _disposed == 0 && _supervisor.IsConnected;

    /// <summary>How many times the connection has been re-established after a loss.</summary>
    public long ReconnectCount => _supervisor.ReconnectCount;

    internal Task BackgroundWork => _supervisor.Monitor;

    /// <summary>Connects; throws <see cref="RedisConnectionException"/> if this first attempt fails.</summary>
    public static async Task<RedisSubscriber> ConnectAsync(
        RedisClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var subscriber = new RedisSubscriber(options);
        try
        {
            await subscriber._supervisor.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await subscriber.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return subscriber;
    }

    /// <summary>Subscribes to <paramref name="channel"/>; completes when the server confirms.</summary>
    /// <exception cref="RedisConnectionException">Disconnected (through the task). The subscription is kept and is
    /// made on reconnect.</exception>
    public Task SubscribeAsync(string channel) => Change(_channels, channel, add: true, "SUBSCRIBE");

    /// <summary>
    /// Subscribes to the glob-style <paramref name="pattern"/> (e.g. <c>ws:dialog:*</c>); completes when the server
    /// confirms. Matching messages carry the pattern in <see cref="RedisMessage.Pattern"/>.
    /// </summary>
    /// <exception cref="RedisConnectionException">Disconnected (through the task). The subscription is kept and is
    /// made on reconnect.</exception>
    public Task PSubscribeAsync(string pattern) => Change(_patterns, pattern, add: true, "PSUBSCRIBE");

    /// <summary>
    /// Unsubscribes from <paramref name="channel"/>; completes when the server confirms, or at once when disconnected
    /// (the channel is simply not subscribed again on reconnect).
    /// </summary>
    public Task UnsubscribeAsync(string channel) => Change(_channels, channel, add: false, "UNSUBSCRIBE");

    /// <summary>
    /// Unsubscribes from <paramref name="pattern"/>; completes when the server confirms, or at once when disconnected.
    /// </summary>
    public Task PUnsubscribeAsync(string pattern) => Change(_patterns, pattern, add: false, "PUNSUBSCRIBE");

    /// <summary>
    /// Closes the connection, stops reconnecting and completes <see cref="Messages"/> (messages already queued can
    /// still be read). Returns once the socket is closed and no background work is left.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _supervisor.DisposeAsync().ConfigureAwait(false);
            _messages.Writer.TryComplete();
        }
    }

    private Task Change(ConcurrentDictionary<string, byte> set, string name, bool add, string command)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var request = new SubscriptionRequest(command, [name]);
        SendResult result;
        lock (_gate)
        {
            if (add)
            {
                set.TryAdd(name, 0);
            }
            else
            {
                set.TryRemove(name, out _);
            }

            result = _physical?.TrySend(request, bypassLimit: true) ?? SendResult.Closed;
        }

        if (result == SendResult.Sent)
        {
            return add ? ConfirmSubscriptionAsync(set, name, request) : request.Task;
        }

        return add
            ? Task.FromException(_supervisor.NotConnected(
                $"{command} {name}", " The subscription is kept and will be made on reconnect."))
            : Task.CompletedTask;
    }

    private async Task ResubscribeAsync(RedisPhysicalConnection physical, CancellationToken cancellationToken)
    {
        // One command per name, all pipelined in one flush: barely more bytes than batching, and a refusal (an ACL
        // change since the first subscribe) is pinned on exactly one name instead of failing a whole batch.
        var requests = new List<(ConcurrentDictionary<string, byte> Set, string Name, SubscriptionRequest Request)>();
        lock (_gate)
        {
            // From here on, Change sends to the new connection; everything changed before is in this snapshot.
            _physical = physical;
            foreach (var (set, command) in new[] { (_channels, "SUBSCRIBE"), (_patterns, "PSUBSCRIBE") })
            {
                foreach (var name in set.Keys)
                {
                    var request = new SubscriptionRequest(command, [name]);
                    if (physical.TrySend(request, bypassLimit: true) != SendResult.Sent)
                    {
                        throw new RedisConnectionException($"The connection to {Endpoint} closed while resubscribing.");
                    }

                    requests.Add((set, name, request));
                }
            }
        }

        if (requests.Count > 0)
        {
            RedisLog.Resubscribing(_logger, requests.Count);
        }

        foreach (var (set, name, request) in requests)
        {
            try
            {
                await request.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RedisServerException ex)
            {
                // Retrying cannot fix a refusal, and failing the reconnect would retry forever: drop this one.
                Forget(set, name);
                RedisLog.ResubscribeFailed(_logger, name, ex.Message);
            }
        }
    }

    private async Task ConfirmSubscriptionAsync(
        ConcurrentDictionary<string, byte> set, string name, SubscriptionRequest request)
    {
        try
        {
            await request.Task.ConfigureAwait(false);
        }
        catch (RedisServerException)
        {
            // Refused (e.g. NOPERM): not subscribed, so not to be re-issued on every reconnect either.
            Forget(set, name);
            throw;
        }
    }

    private void Forget(ConcurrentDictionary<string, byte> set, string name)
    {
        lock (_gate)
        {
            set.TryRemove(name, out _);
        }
    }

    private async Task WaitForConsumerAsync(CancellationToken cancellationToken)
    {
        if (!_overflowed)
        {
            return;
        }

        var resumeAt = _options.MessageQueueCapacity / 2;
        while (_messages.Reader.Count > resumeAt)
        {
            await Task.Delay(_options.ReconnectMinDelay, cancellationToken).ConfigureAwait(false);
        }

        _overflowed = false;
    }

    /// <summary>
    /// The message path, on the read loop: reads <c>message</c> and <c>pmessage</c> frames straight from the buffer,
    /// without building a <see cref="RespValue"/>; everything else (confirmations, handshake replies) returns false.
    /// </summary>
    private bool OnPushFrame(RedisPhysicalConnection connection, in ReadOnlySequence<byte> frame)
    {
        var reader = new SequenceReader<byte>(frame);
        bool isPattern;
        if (reader.IsNext("*3\r\n$7\r\nmessage\r\n"u8, advancePast: true))
        {
            isPattern = false;
        }
        else if (reader.IsNext("*4\r\n$8\r\npmessage\r\n"u8, advancePast: true))
        {
            isPattern = true;
        }
        else
        {
            return false;
        }

        string? pattern = null;
        string? channel;
        if (isPattern)
        {
            if (!TryReadName(ref reader, _patternLookup, out pattern))
            {
                return true;
            }

            channel = Encoding.UTF8.GetString(ReadBulk(ref reader));
        }
        else if (!TryReadName(ref reader, _channelLookup, out channel))
        {
            return true;
        }

        var payload = ReadBulk(ref reader).ToArray();
        if (_messages.Writer.TryWrite(new RedisMessage(channel!, pattern, payload)) || _disposed != 0)
        {
            return true;
        }

        if (!_overflowed)
        {
            _overflowed = true;
            RedisLog.ConsumerBehind(_logger, _options.MessageQueueCapacity, Endpoint);
        }

        connection.Abort(new RedisConnectionException(
            $"The consumer of RedisSubscriber.Messages fell {_options.MessageQueueCapacity} messages behind."));
        return true;
    }

    /// <summary>
    /// Reads a channel or pattern name and finds it in the subscription set, which also gives back the set's own string
    /// so a message allocates no name. False when the name is no longer subscribed: the message is to be dropped.
    /// </summary>
    private static bool TryReadName(
        ref SequenceReader<byte> reader,
        ConcurrentDictionary<string, byte>.AlternateLookup<ReadOnlySpan<char>> lookup,
        [NotNullWhen(true)] out string? name)
    {
        var bytes = ReadBulk(ref reader);
        var length = (int)bytes.Length;
        char[]? rented = null;
        Span<char> chars = length <= StackNameLength
            ? stackalloc char[StackNameLength]
            : rented = ArrayPool<char>.Shared.Rent(length);
        try
        {
            var count = bytes.IsSingleSegment
                ? Encoding.UTF8.GetChars(bytes.FirstSpan, chars)
                : Encoding.UTF8.GetChars(bytes.ToArray(), chars);
            return lookup.TryGetValue(chars[..count], out name, out _);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static ReadOnlySequence<byte> ReadBulk(ref SequenceReader<byte> reader)
    {
        // The frame was validated by the scanner; a null bulk here would be a server bug, not worth a special case.
        if (!reader.TryRead(out var prefix) || prefix != (byte)'$'
            || !RespFrameScanner.TryReadNumber(ref reader, out var length) || length < 0)
        {
            throw new RedisProtocolException("A pub/sub message has an element that is not a bulk string.");
        }

        var bytes = reader.UnreadSequence.Slice(0, length);
        reader.Advance(length + 2);
        return bytes;
    }
}
