using System.Collections.Concurrent;

namespace Herald.Server.Auth;

/// <summary>The bound every in-memory cache of the auth path keeps.</summary>
internal static class BoundedCache
{
    /// <summary>
    /// Stores <paramref name="value"/>; a map already holding <paramref name="max"/> entries starts over first. A bound,
    /// not an eviction policy: what is forgotten costs one lookup again, and memory cannot grow with hostile input.
    /// </summary>
    public static void SetBounded<TKey, TValue>(this ConcurrentDictionary<TKey, TValue> map, TKey key, TValue value, int max)
        where TKey : notnull
    {
        if (map.Count >= max)
        {
            map.Clear();
        }

        map[key] = value;
    }
}
