using System.Numerics;

namespace Herald.Bench.Load;

/// <summary>
/// Latencies in microseconds, log-linear (64 sub-buckets per power of two, so any reported percentile is
/// within 1.6 % of the true value), fixed size, no allocation per record. Workers send their buckets to
/// the coordinator, which merges them.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBits = 6;
    private const int SubCount = 1 << SubBits;       // 64
    private const int Linear = SubCount * 2;         // values below 128 µs are exact
    private const int MaxShift = 40;
    public const int BucketCount = Linear + (MaxShift * SubCount);

    private readonly long[] _counts = new long[BucketCount];

    public long Count { get; private set; }

    public long Max { get; private set; }

    public void Record(long micros)
    {
        if (micros < 0)
        {
            micros = 0;
        }

        _counts[IndexOf(micros)]++;
        Count++;
        if (micros > Max)
        {
            Max = micros;
        }
    }

    public void Reset()
    {
        Array.Clear(_counts);
        Count = 0;
        Max = 0;
    }

    /// <summary>Non-empty buckets as (index, count) pairs, flattened, for the worker protocol.</summary>
    public long[] ToSparse()
    {
        var list = new List<long>();
        for (var i = 0; i < _counts.Length; i++)
        {
            if (_counts[i] != 0)
            {
                list.Add(i);
                list.Add(_counts[i]);
            }
        }

        return [.. list];
    }

    public void AddSparse(long[]? sparse, long max)
    {
        if (sparse is null)
        {
            return;
        }

        for (var i = 0; i + 1 < sparse.Length; i += 2)
        {
            _counts[sparse[i]] += sparse[i + 1];
            Count += sparse[i + 1];
        }

        Max = Math.Max(Max, max);
    }

    /// <summary>The value at percentile <paramref name="p"/> (0-100), as the upper edge of its bucket (capped at the max seen).</summary>
    public long Percentile(double p)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(p / 100.0 * Count);
        rank = Math.Clamp(rank, 1, Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), Max);
            }
        }

        return Max;
    }

    private static int IndexOf(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }

        var msb = 63 - BitOperations.LeadingZeroCount((ulong)v);
        var shift = Math.Min(msb - SubBits, MaxShift);
        var top = (int)(v >> shift) - SubCount;           // 64..127 → 0..63
        return Math.Min(Linear + ((shift - 1) * SubCount) + top, BucketCount - 1);
    }

    private static long UpperEdge(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var shift = ((index - Linear) / SubCount) + 1;
        var top = ((index - Linear) % SubCount) + SubCount;
        return ((long)(top + 1) << shift) - 1;
    }
}
