using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Herald.Bench.Targets;
using Herald.Testing;

namespace Herald.Bench.Load;

/// <summary>
/// Several Herald nodes as README "Running several nodes" sets them up: one PostgreSQL (the store), one Redis (the
/// backplane), one signing key. redis-server and the PostgreSQL cluster are started by the fixtures the tests use
/// (free loopback ports, temporary directories removed afterwards; PostgreSQL as the <c>postgres</c> user when
/// running as root), with fsync on, as a deployment would run; each node is a <see cref="HeraldTarget"/>.
/// </summary>
internal sealed class HeraldCluster : IAsyncDisposable
{
    private readonly List<HeraldTarget> _nodes = [];
    private readonly Lock _gate = new();
    private readonly PosixSignalRegistration[] _signals;
    private RedisServerFixture? _redis;
    private PostgresFixture? _postgres;
    private Task? _disposal;

    private HeraldCluster()
    {
        // Ctrl-C reaches the nodes and redis-server (same process group) but not PostgreSQL, which pg_ctl detaches
        // into a session of its own: tear down before the default action ends the bench, or it keeps running.
        _signals = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(signal =>
            PosixSignalRegistration.Create(signal, _ => DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30))))];
    }

    public IReadOnlyList<HeraldTarget> Nodes => _nodes;

    /// <summary>redis-server's process id, for its CPU time (S6).</summary>
    public int? RedisPid => _redis?.ProcessId;

    /// <summary>The postmaster's process id: its process tree is PostgreSQL's CPU time (S6).</summary>
    public int? PostgresPid => _postgres?.ServerProcessId;

    /// <summary>What runs, for the report.</summary>
    public string Description { get; private set; } = "";

    /// <summary>
    /// Starts Redis, PostgreSQL (database <c>herald</c>) and <paramref name="nodeCount"/> nodes one after another:
    /// the first creates the schema and the operator, so the others only find them. The bench's
    /// <c>--server-arg</c> values come last on each node's command line and win.
    /// </summary>
    public static async Task<HeraldCluster> StartAsync(BenchOptions options, int nodeCount)
    {
        var cluster = new HeraldCluster();
        try
        {
            cluster._redis = await RedisServerFixture.StartNewAsync(new RedisServerSettings());
            cluster._postgres = await PostgresFixture.StartAsync(durable: true);
            await cluster._postgres.CreateDatabaseAsync("herald");
            // --pg-commit async: commits return before PostgreSQL's WAL flush (synchronous_commit=off, set by the
            // nodes' connection string), the durability class of S3's SQLite (WAL, synchronous=NORMAL): nothing is
            // corrupted by a crash, the last moments may be lost. The default, sync, waits for the fsync of every commit.
            var asyncCommit = options.String("pg-commit") is "async";
            var connectionString = cluster._postgres.ConnectionString("herald") + (asyncCommit ? ";Options=-c synchronous_commit=off" : "");
            string[] shared =
            [
                "--Herald:Storage:Provider=postgres",
                $"--Herald:Storage:ConnectionString={connectionString}",
                $"--Herald:Redis:Url={cluster._redis.Url}",
                // Each bench server gets a key of its own; the nodes must share one. Hex, so the value has no '='
                // or '/' to trip the command-line configuration parser.
                $"--Herald:Auth:SigningKey={Convert.ToHexString(RandomNumberGenerator.GetBytes(32))}",
            ];
            for (var i = 0; i < nodeCount; i++)
            {
                cluster._nodes.Add(await HeraldTarget.StartAsync(options, shared));
            }

            cluster.Description = $"Herald ×{nodeCount} ({string.Join(", ", cluster._nodes.Select(n => n.Server.BaseAddress.Authority))}; SSE; {HeraldTarget.RuntimeSettings}; 15 s heartbeat), "
                + $"PostgreSQL on 127.0.0.1:{cluster._postgres.Port} (fsync on, {(asyncCommit ? "asynchronous commit" : "every commit waits for its fsync")}), redis-server on 127.0.0.1:{cluster._redis.Port}";
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the nodes first (SIGTERM, so they drain), then Redis and PostgreSQL, and removes their directories.</summary>
    public ValueTask DisposeAsync()
    {
        // Once, whether the scenario ends or a signal comes first; a second caller waits for the same teardown.
        lock (_gate)
        {
            _disposal ??= DisposeCoreAsync();
        }

        return new ValueTask(_disposal);
    }

    private async Task DisposeCoreAsync()
    {
        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask()));
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        foreach (var signal in _signals)
        {
            signal.Dispose();
        }
    }
}
