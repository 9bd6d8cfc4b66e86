using Herald.Protocol.Diagnostics;
using Herald.Server.Diagnostics;
using StackExchange.Redis;

namespace Herald.Server.Backplane;

/// <summary>
/// Mercure subscriptions shared through Redis, beside presence and keyed off its liveness: a node's subscriptions are
/// listed while its node key (<see cref="RedisPresenceStore.NodeKey"/>) exists, and once it has expired (the node died
/// without leaving) the first node to claim them announces their end.
/// </summary>
/// <remarks>
/// <para>Keys (prefix <c>Herald:Presence:KeyPrefix</c>):</para>
/// <list type="bullet">
/// <item><c>{p}node:{id}:mercure</c>: hash subscription id → its JSON document, in the node's Cluster slot (hash tag
/// <c>{id}</c>) so one script may read the node key and take this one. Lives <c>Ttl + 10 × Interval</c>, refreshed
/// every interval: it outlives the node key long enough for a surviving node to claim it.</item>
/// <item><c>{p}mercure:nodes</c>: a set of the ids of nodes that wrote such a hash; a claimer removes a dead one.</item>
/// </list>
/// <para>Exactly once: a subscription's end is announced by whoever removes its field — its own node (<c>HDEL</c>
/// answered 1) or, after the node died, the one node whose claim script took the whole hash (read and delete in one
/// script). A node cut off from Redis for longer than <c>Ttl</c> is taken for dead: its subscriptions are announced
/// as ended, and written back (not announced again) when it reconnects.</para>
/// </remarks>
public sealed class RedisMercureSubscriptionStore(RedisPresenceStore presence, ILogger<RedisMercureSubscriptionStore> logger) : IMercureSubscriptionStore
{
    // KEYS[1] the dead node's liveness key, KEYS[2] its subscriptions. Nothing when the node is alive.
    private const string ClaimScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return {} end
        local documents = redis.call('HVALS', KEYS[2])
        redis.call('DEL', KEYS[2])
        return documents
        """;

    // KEYS[1] this node's subscriptions; ARGV: lifetime ms, then id/document pairs. All of them, atomically.
    private const string RewriteScript = """
        redis.call('DEL', KEYS[1])
        for i = 2, #ARGV, 1000 do
          redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return 1
        """;

    private long _writtenAtReconnect = -1;

    private string NodesKey => presence.KeyPrefix + "mercure:nodes";

    private string HashKey(string node) => presence.NodeKey(node) + ":mercure";

    public async Task AddAsync(string id, string document)
    {
        try
        {
            var db = presence.Connected().GetDatabase();
            var key = HashKey(presence.NodeId);
            await Task.WhenAll(db.HashSetAsync(key, id, document), db.KeyExpireAsync(key, presence.KeyLifetime), db.SetAddAsync(NodesKey, presence.NodeId));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or BackplaneUnavailableException)
        {
            Lost(ex);
        }
    }

    public async Task<bool> RemoveAsync(string id)
    {
        try
        {
            return await presence.Connected().GetDatabase().HashDeleteAsync(HashKey(presence.NodeId), id);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or BackplaneUnavailableException)
        {
            Lost(ex);
            return true;
        }
    }

    public async Task RefreshAsync(Func<IReadOnlyCollection<KeyValuePair<string, string>>> all, CancellationToken cancellationToken)
    {
        try
        {
            var db = presence.Connected().GetDatabase();
            var key = HashKey(presence.NodeId);
            var reconnects = presence.ReconnectCount;
            Task write;
            if (Interlocked.Read(ref _writtenAtReconnect) == reconnects)
            {
                write = db.KeyExpireAsync(key, presence.KeyLifetime);
            }
            else
            {
                // A new connection may be a Redis that lost everything, or a write failed: the whole list again.
                var values = new List<RedisValue> { (long)presence.KeyLifetime.TotalMilliseconds };
                foreach (var (id, document) in all())
                {
                    values.Add(id);
                    values.Add(document);
                }

                write = values.Count > 1 ? db.ScriptEvaluateAsync(RewriteScript, [key], [.. values]) : db.KeyDeleteAsync(key);
                Interlocked.Exchange(ref _writtenAtReconnect, reconnects);
            }

            await Task.WhenAll(write, db.SetAddAsync(NodesKey, presence.NodeId)).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or BackplaneUnavailableException)
        {
            Lost(ex);
        }
    }

    public async Task<IReadOnlyList<string>> ReadOthersAsync(CancellationToken cancellationToken)
    {
        var db = presence.Connected().GetDatabase();
        try
        {
            var nodes = (await db.SetMembersAsync(NodesKey).WaitAsync(cancellationToken)).Select(n => n.ToString()).Where(n => n != presence.NodeId).ToList();
            var reads = nodes.Select(n => (Alive: db.KeyExistsAsync(presence.NodeKey(n)), Documents: db.HashValuesAsync(HashKey(n)))).ToList();
            await Task.WhenAll(reads.SelectMany(r => new Task[] { r.Alive, r.Documents })).WaitAsync(cancellationToken);
            return [.. reads.Where(r => r.Alive.Result).SelectMany(r => r.Documents.Result.Select(d => d.ToString()))];
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new BackplaneUnavailableException("Redis did not answer: " + ex.Message, ex);
        }
    }

    public async Task<IReadOnlyList<string>> ClaimDeadAsync(CancellationToken cancellationToken)
    {
        var db = presence.Connected().GetDatabase();
        var nodes = (await db.SetMembersAsync(NodesKey).WaitAsync(cancellationToken)).Select(n => n.ToString()).Where(n => n != presence.NodeId).ToList();
        var alive = nodes.Select(n => db.KeyExistsAsync(presence.NodeKey(n))).ToList();
        await Task.WhenAll(alive).WaitAsync(cancellationToken);
        List<string> claimed = [];
        for (var i = 0; i < nodes.Count; i++)
        {
            if (alive[i].Result)
            {
                continue;
            }

            var taken = await db.ScriptEvaluateAsync(ClaimScript, [presence.NodeKey(nodes[i]), HashKey(nodes[i])]).WaitAsync(cancellationToken);
            claimed.AddRange(((RedisValue[]?)taken ?? []).Select(v => v.ToString()));
            await db.SetRemoveAsync(NodesKey, nodes[i]).WaitAsync(cancellationToken);
        }

        return claimed;
    }

    // The next refresh writes everything again: whatever this call meant to change is in that list (or out of it).
    private void Lost(Exception ex)
    {
        Interlocked.Exchange(ref _writtenAtReconnect, -1);
        PresenceLog.MercureSubscriptionsWriteFailed(logger, LogValue.Sanitize(ex.Message));
    }
}
