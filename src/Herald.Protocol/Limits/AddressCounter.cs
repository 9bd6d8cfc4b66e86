using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Herald.Protocol.Limits;

/// <summary>How many of something (connections, bridge streams) each client address holds now, under one limit.</summary>
public sealed class AddressCounter(int limit)
{
    private readonly ConcurrentDictionary<string, StrongBox<int>> _counts = new(StringComparer.Ordinal);

    /// <summary>Takes one for <paramref name="address"/>; false when it already holds the limit (0 = none).</summary>
    public bool TryAcquire(string address)
    {
        if (limit == 0)
        {
            return true;
        }

        var box = _counts.GetOrAdd(address, static _ => new StrongBox<int>());
        if (Interlocked.Increment(ref box.Value) <= limit)
        {
            return true;
        }

        Interlocked.Decrement(ref box.Value);
        return false;
    }

    public void Release(string address)
    {
        if (limit > 0 && _counts.TryGetValue(address, out var box) && Interlocked.Decrement(ref box.Value) == 0)
        {
            // Drop idle entries so the map does not grow with every address ever seen; a racing acquire re-adds it.
            _counts.TryRemove(new KeyValuePair<string, StrongBox<int>>(address, box));
        }
    }
}
