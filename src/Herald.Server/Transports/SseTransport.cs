using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Herald.Protocol;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Hub;
using Herald.Server.Pipeline;
using Herald.Server.Transports.Handoff;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Server.Transports;

/// <summary>
/// Server-Sent Events: headers, <c>retry:</c>, replay from Last-Event-ID, then live events until the client
/// goes away or the server ends the stream. This type only moves bytes; routing and ordering are the hub's.
/// </summary>
public sealed class SseTransport(StreamHost host, ReplayService replay, HeraldMetrics metrics)
{
    public const string TransportName = "sse";

    // Events moved from the queue per write; they are written back to back and flushed once.
    private const int WriteBatch = 64;

    private StreamHost Host => host;

    /// <summary>
    /// Reads the resume position: the <c>Last-Event-ID</c> header (what EventSource sends on reconnect) or the
    /// <c>last_event_id</c> query parameter (for clients that cannot set headers). A value that is not a
    /// number is treated as an unknown position, which answers with <c>reset</c>.
    /// </summary>
    public static long? ResumePosition(HttpRequest request)
    {
        var raw = request.Headers["Last-Event-ID"].ToString();
        if (raw.Length == 0)
        {
            raw = request.Query["last_event_id"].ToString();
        }

        if (raw.Length == 0)
        {
            return null;
        }

        return long.TryParse(raw, System.Globalization.NumberStyles.None, null, out var id) ? id : long.MaxValue;
    }

    public async Task StreamAsync(HttpContext context, StreamRequest request)
    {
        var subscriber = host.TryOpen(context, TransportName, request.Topics, request.Label, request.Principal, view: request.View);
        if (subscriber is null)
        {
            await host.Refusal().ExecuteAsync(context);
            return;
        }

        // The stream reads nothing more from its request. Its parsed query holds the credential when it came as
        // ?token=; drop it rather than keep a copy for the stream's life (Kestrel keeps the request line itself).
        context.Request.Query = QueryCollection.Empty;
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-transform";
        // nginx honours this per response: without it, a default proxy_buffering config holds events back.
        response.Headers["X-Accel-Buffering"] = "no";
        if (ConnectionHandoff.MayHandOff(context))
        {
            // The connection ends with this stream once it is handed off: no client may keep it for another request.
            response.Headers.Connection = "close";
        }

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var aborted = context.RequestAborted.Register(static s => ((Subscriber)s!).Close(Disconnect.ClientClosed), subscriber);
        var stream = new LiveStream(this, subscriber, request.Label, host.Lease(subscriber, request.Principal));
        // Set once the live phase has the stream: from then on it, not this handler, unregisters it at the end.
        var passedOn = false;
        try
        {
            var writer = response.BodyWriter;
            var options = host.Options;
            writer.Write(SseFrame.Retry(options.RetryMilliseconds + Random.Shared.Next(options.RetryJitterMilliseconds + 1)));
            // An immediate heartbeat lets clients (and herald doctor) tell a working stream from a buffering proxy.
            writer.Write(SseFrame.Heartbeat.Span);
            if (request.ResumeAfter is { } after)
            {
                var result = await replay.ReadAsync(request.Topics, after, context.RequestAborted);
                if (result.Reset is { } reset)
                {
                    writer.Write(request.View?.SseFrame(reset) ?? reset.SseFrame);
                    stream.LastSent = reset.Id;
                }
                else
                {
                    // The client has everything up to its Last-Event-ID, replayed or not: an event at or below it that
                    // reaches this node only now (the client had it from another node, or before a reconnect) is not
                    // sent again. (Starting from the last replayed id missed that case when nothing was replayed.)
                    stream.LastSent = after;
                }

                foreach (var item in result.Events)
                {
                    // What the view refuses is skipped but still passed: the live phase must not send it either.
                    if (request.View is not { } view)
                    {
                        writer.Write(item.SseFrame);
                    }
                    else if (view.Accepts(item))
                    {
                        writer.Write(view.SseFrame(item));
                    }

                    stream.LastSent = item.Id;
                }
            }

            if (!await FlushAsync(subscriber, writer, context.RequestAborted))
            {
                return;
            }

            // Kestrel lets go of its request state and the live phase goes on over the bare connection, watching the
            // connection instead of this request's abort token (false when the connection cannot be handed off, or
            // Herald:Streams:HandOffConnections left the middleware out).
            passedOn = ConnectionHandoff.TryHandOff(context, stream.RunHandedOffAsync);
            if (passedOn)
            {
                metrics.StreamsHandedOff.Add(1);
                return;
            }

            passedOn = true;
            // The live phase watches the abort token itself, as it watches the connection after a hand-off.
            aborted.Dispose();
            await stream.RunAsync(writer, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
            // The peer went away mid-write.
        }
        finally
        {
            aborted.Dispose();
            if (!passedOn)
            {
                stream.Close(Disconnect.ClientClosed);
            }
        }
    }

    /// <summary>
    /// A stream's live phase: events from the subscriber's queue to the wire until either side ends it, then the
    /// stream is unregistered. It runs inside Kestrel's request, writing to the response's body writer, or on the bare
    /// connection after a <see cref="ConnectionHandoff"/>, writing through a <see cref="ChunkedPipeWriter"/> that frames
    /// the body as Kestrel would; either way it ends the body by completing its writer.
    /// </summary>
    /// <remarks>One async method for the whole phase: each suspended async frame is ~150 bytes held by every idle stream.</remarks>
    private sealed class LiveStream(SseTransport transport, Subscriber subscriber, string label, StreamLease? lease)
    {
        /// <summary>The id of the last durable event written; live events at or below it are not sent again.</summary>
        public long LastSent { get; set; }

        public Task RunHandedOffAsync(ConnectionContext connection)
        {
            subscriber.Abort = connection.Abort;
            return RunAsync(new ChunkedPipeWriter(connection.Transport.Output), connection.ConnectionClosed);
        }

        public async Task RunAsync(PipeWriter writer, CancellationToken aborted)
        {
            using var closed = aborted.Register(static s => ((Subscriber)s!).Close(Disconnect.ClientClosed), subscriber);
            var lastSent = LastSent;
            var writable = true;
            try
            {
                while (writable && await subscriber.WaitToReadAsync())
                {
                    writable = await transport.WriteQueuedAsync(subscriber, writer, ref lastSent, aborted);
                }

                var reason = subscriber.CloseReason;
                // Shutting down: everything queued has been written; tell the client when to come back, then end the
                // stream. Revoked: say why before the end, or the client's reconnect would learn only "403".
                var final = reason == Disconnect.ShuttingDown ? transport.Host.ReconnectFrame()
                    : reason == Disconnect.AuthRevoked || reason == Disconnect.ServerDisconnect ? StreamHost.FinalFrame(reason, subscriber.CloseDetail)
                    : null;
                if (writable && final is { } frame)
                {
                    writer.Write(frame);
                    writable = await FlushAsync(subscriber, writer, aborted);
                }

                if (writable)
                {
                    // The end of the body is a write too: the heartbeat loop aborts it after the write timeout.
                    subscriber.WriteStartedTicks = Environment.TickCount64;
                    await writer.CompleteAsync();
                    subscriber.WriteStartedTicks = 0;
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (IOException)
            {
                // The peer went away mid-write.
            }
            finally
            {
                // The host counts and logs the subscriber's close reason when it has one; this is the fallback.
                Close(Disconnect.ClientClosed);
            }
        }

        public void Close(Disconnect reason)
        {
            lease?.Dispose();
            transport.Host.Close(subscriber, label, reason);
        }
    }

    /// <summary>
    /// Moves up to <see cref="WriteBatch"/> queued events to the wire and flushes once; false when the connection can
    /// no longer be written to.
    /// </summary>
    private ValueTask<bool> WriteQueuedAsync(Subscriber subscriber, PipeWriter writer, ref long lastSent, CancellationToken aborted)
    {
        // Rented per wake-up, not for the connection's life: the shared pool keeps only a few arrays per
        // size, so one held by each idle stream was a fresh 0.5 KB allocation per connection (S1 heap snapshot).
        var batch = ArrayPool<HubEvent?>.Shared.Rent(WriteBatch);
        var n = subscriber.Drain(batch.AsSpan(0, WriteBatch));
        // The frames go straight to the writer, which sends them as one write (one chunk after a hand-off) at the flush.
        var kept = 0;
        var oldest = 0L;
        for (var i = 0; i < n; i++)
        {
            var item = batch[i]!;
            batch[i] = null;
            if (item.IsDurable)
            {
                if (item.Id <= lastSent)
                {
                    continue; // already sent by the replay
                }

                lastSent = item.Id;
            }

            if (oldest == 0 && !item.IsHeartbeat)
            {
                oldest = item.ReceivedTimestamp;
            }

            writer.Write(subscriber.View?.SseFrame(item) ?? item.SseFrame);
            kept++;
        }

        if (kept > 0)
        {
            metrics.EventsSent.Add(kept);
        }

        // Every slot drained was cleared above, so the array goes back holding no events.
        ArrayPool<HubEvent?>.Shared.Return(batch);
        return oldest == 0 ? FlushAsync(subscriber, writer, aborted) : FlushAndRecordAsync(subscriber, writer, oldest, aborted);
    }

    private async ValueTask<bool> FlushAndRecordAsync(Subscriber subscriber, PipeWriter writer, long oldest, CancellationToken aborted)
    {
        var writable = await FlushAsync(subscriber, writer, aborted);
        if (writable)
        {
            metrics.DeliveryLatency.Record(Stopwatch.GetElapsedTime(oldest).TotalMilliseconds);
        }

        return writable;
    }

    private static async ValueTask<bool> FlushAsync(Subscriber subscriber, PipeWriter writer, CancellationToken aborted)
    {
        // The heartbeat loop aborts the connection if this flush is still pending after the write timeout.
        subscriber.WriteStartedTicks = Environment.TickCount64;
        var result = await writer.FlushAsync(aborted);
        subscriber.WriteStartedTicks = 0;
        subscriber.LastWriteTicks = Environment.TickCount64;
        return !result.IsCanceled && !result.IsCompleted;
    }
}
