using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Herald.Server.Tests.Infrastructure;

/// <summary>
/// A WebSocket client over a bare TCP socket that sends whatever frame bytes a test asks for — unmasked, reserved bits,
/// fragments, oversized control frames — which ClientWebSocket would never send; and reads the server's frames as they
/// are, pings and close frames included, without answering anything by itself.
/// </summary>
public sealed class RawWebSocket : IAsyncDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);
    private readonly TcpClient _tcp;
    private readonly NetworkStream _net;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawWebSocket(TcpClient tcp)
    {
        _tcp = tcp;
        _net = tcp.GetStream();
    }

    /// <summary>One frame as the server sent it.</summary>
    public sealed record Frame(bool Fin, int Opcode, byte[] Payload)
    {
        public string Text => Encoding.UTF8.GetString(Payload);

        /// <summary>A close frame's code (null without one) and reason.</summary>
        public (int? Code, string Reason) Close =>
            Payload.Length >= 2 ? (BinaryPrimitives.ReadUInt16BigEndian(Payload), Encoding.UTF8.GetString(Payload, 2, Payload.Length - 2)) : (null, "");
    }

    /// <summary>Opens the socket: the upgrade request, and the server's 101 checked.</summary>
    public static async Task<RawWebSocket> ConnectAsync(Uri baseAddress, string pathAndQuery)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(baseAddress.Host, baseAddress.Port);
        var socket = new RawWebSocket(tcp);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        await socket._net.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET {pathAndQuery} HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        var head = await socket.ReadHeadAsync();
        if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"no upgrade: {head}");
        }

        // RFC 6455 4.2.2 fixes SHA-1 for this check; it is no security measure.
#pragma warning disable CA5350
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
        if (!head.Contains($"Sec-WebSocket-Accept: {accept}", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"wrong Sec-WebSocket-Accept: {head}");
        }

        return socket;
    }

    /// <summary>A frame with these bits; <paramref name="mask"/> false sends it unmasked (which a client must not).</summary>
    public Task SendFrameAsync(int opcode, ReadOnlySpan<byte> payload, bool fin = true, bool mask = true, int reservedBits = 0, long? declaredLength = null)
    {
        var frame = new List<byte> { (byte)((fin ? 0x80 : 0) | (reservedBits << 4) | opcode) };
        var length = declaredLength ?? payload.Length;
        var maskBit = mask ? 0x80 : 0;
        if (length <= 125)
        {
            frame.Add((byte)(maskBit | (int)length));
        }
        else if (length <= ushort.MaxValue)
        {
            frame.Add((byte)(maskBit | 126));
            frame.Add((byte)(length >> 8));
            frame.Add((byte)length);
        }
        else
        {
            frame.Add((byte)(maskBit | 127));
            for (var shift = 56; shift >= 0; shift -= 8)
            {
                frame.Add((byte)(length >> shift));
            }
        }

        var key = mask ? RandomNumberGenerator.GetBytes(4) : [];
        frame.AddRange(key);
        for (var i = 0; i < payload.Length; i++)
        {
            frame.Add(mask ? (byte)(payload[i] ^ key[i % 4]) : payload[i]);
        }

        return _net.WriteAsync(frame.ToArray()).AsTask();
    }

    /// <summary>Bytes as they are: a frame built by hand.</summary>
    public Task SendRawAsync(byte[] bytes) => _net.WriteAsync(bytes).AsTask();

    public Task SendTextAsync(string text, bool fin = true) => SendFrameAsync(0x1, Encoding.UTF8.GetBytes(text), fin);

    /// <summary>A close frame with this code and reason.</summary>
    public Task SendCloseAsync(int code, string reason = "")
    {
        var payload = new byte[2 + Encoding.UTF8.GetByteCount(reason)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        Encoding.UTF8.GetBytes(reason, payload.AsSpan(2));
        return SendFrameAsync(0x8, payload);
    }

    /// <summary>The server's next frame, or null when it closed the connection.</summary>
    public async Task<Frame?> NextFrameAsync()
    {
        if (!await FillAsync(2))
        {
            return null;
        }

        var fin = (_buffer[_start] & 0x80) != 0;
        var opcode = _buffer[_start] & 0x0F;
        if ((_buffer[_start + 1] & 0x80) != 0)
        {
            throw new InvalidDataException("the server masked a frame (RFC 6455 5.1: it must not)");
        }

        long length = _buffer[_start + 1] & 0x7F;
        var header = 2;
        if (length == 126)
        {
            await RequireAsync(4);
            length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start + 2));
            header = 4;
        }
        else if (length == 127)
        {
            await RequireAsync(10);
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(_start + 2));
            header = 10;
        }

        await RequireAsync(header + (int)length);
        var payload = _buffer.AsSpan(_start + header, (int)length).ToArray();
        _start += header + (int)length;
        return new Frame(fin, opcode, payload);
    }

    /// <summary>Frames until the server's close frame; the frames before it are returned too.</summary>
    public async Task<(Frame Close, List<Frame> Before)> NextCloseAsync()
    {
        var before = new List<Frame>();
        while (await NextFrameAsync() is { } frame)
        {
            if (frame.Opcode == 0x8)
            {
                return (frame, before);
            }

            before.Add(frame);
        }

        throw new EndOfStreamException($"the connection ended without a close frame, after {before.Count} frames");
    }

    /// <summary>True when the server has closed the TCP connection (after its close frame, nothing more arrives).</summary>
    public async Task<bool> AtEndOfConnectionAsync() => !await FillAsync(1);

    private async Task RequireAsync(int count)
    {
        if (!await FillAsync(count))
        {
            throw new EndOfStreamException("the connection ended inside a frame");
        }
    }

    private async Task<bool> FillAsync(int count)
    {
        while (_end - _start < count)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            using var timeout = new CancellationTokenSource(ReadTimeout);
            int read;
            try
            {
                read = await _net.ReadAsync(_buffer.AsMemory(_end), timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("nothing from the server in time");
            }
            catch (IOException)
            {
                return false;
            }

            if (read == 0)
            {
                return false;
            }

            _end += read;
        }

        return true;
    }

    private async Task<string> ReadHeadAsync()
    {
        while (true)
        {
            var text = Encoding.ASCII.GetString(_buffer, 0, _end);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                _start = end + 4;
                return text[..end];
            }

            if (!await FillAsync(_end + 1))
            {
                throw new EndOfStreamException($"the connection ended in the response head: {text}");
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
