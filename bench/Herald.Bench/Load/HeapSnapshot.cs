using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace Herald.Bench.Load;

/// <summary>
/// Live objects of the server by type, as dotnet-gcdump gets them: a session with the runtime's heap-snapshot
/// keywords induces a full collection during which the runtime reports every live object (address, size,
/// type). Only sizes by type are kept, which is what "where do the bytes per connection go" needs.
/// </summary>
internal static class HeapSnapshot
{
    // The runtime names each type once (the first time a session asks), so names from an earlier snapshot of
    // the same process are kept. Type ids are method-table addresses, stable for the life of the process.
    private static readonly Dictionary<ulong, string> TypeNames = [];

    public static async Task<Dictionary<string, (long Count, long Bytes)>?> TakeAsync(int pid, TimeSpan timeout)
    {
        var typeNames = TypeNames;
        var byType = new Dictionary<ulong, (long Count, long Bytes)>();
        EventPipeSession session;
        try
        {
            session = new DiagnosticsClient(pid).StartEventPipeSession(
                new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GCHeapSnapshot),
                requestRundown: false);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
        {
            Console.Error.WriteLine($"heap snapshot unavailable: {ex.Message}");
            return null;
        }

        using (session)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var induced = false;
            var reader = Task.Run(() =>
            {
                using var source = new EventPipeEventSource(session.EventStream);
                source.Clr.GCStart += e => induced |= e.Depth == 2;
                source.Clr.GCStop += e =>
                {
                    if (induced && e.Depth == 2)
                    {
                        done.TrySetResult();
                    }
                };
                source.Clr.TypeBulkType += e =>
                {
                    for (var i = 0; i < e.Count; i++)
                    {
                        var type = e.Values(i);
                        typeNames[type.TypeID] = type.TypeName;
                    }
                };
                source.Clr.GCBulkNode += e =>
                {
                    for (var i = 0; i < e.Count; i++)
                    {
                        var node = e.Values(i);
                        var (count, bytes) = byType.GetValueOrDefault(node.TypeID);
                        byType[node.TypeID] = (count + 1, bytes + (long)node.Size);
                    }
                };
                try
                {
                    source.Process();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or EndOfStreamException)
                {
                }
            });

            await Task.WhenAny(done.Task, Task.Delay(timeout));
            // Type names can trail the nodes slightly; give them a moment before stopping.
            await Task.Delay(500);
            try
            {
                await session.StopAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is ServerNotAvailableException or IOException or TimeoutException)
            {
            }

            await Task.WhenAny(reader, Task.Delay(10_000));
            if (!done.Task.IsCompleted)
            {
                return null;
            }
        }

        var result = new Dictionary<string, (long Count, long Bytes)>(StringComparer.Ordinal);
        foreach (var (id, (count, bytes)) in byType)
        {
            var name = typeNames.GetValueOrDefault(id) ?? $"type#{id:x}";
            var (c, b) = result.GetValueOrDefault(name);
            result[name] = (c + count, b + bytes);
        }

        return result;
    }

    /// <summary>Growth by type between two snapshots per connection, message or other unit, largest first.</summary>
    public static List<(string Type, double Count, double Bytes)> GrowthPer(
        Dictionary<string, (long Count, long Bytes)> before, Dictionary<string, (long Count, long Bytes)> after, long units, int top)
    {
        return after
            .Select(kv =>
            {
                var (c0, b0) = before.GetValueOrDefault(kv.Key);
                return (Type: kv.Key, Count: (kv.Value.Count - c0) / (double)units, Bytes: (kv.Value.Bytes - b0) / (double)units);
            })
            .OrderByDescending(x => x.Bytes)
            .Take(top)
            .ToList();
    }
}
