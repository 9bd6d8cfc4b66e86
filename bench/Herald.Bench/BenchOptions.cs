using System.Globalization;

namespace Herald.Bench;

/// <summary>Command-line options: <c>--name value</c> or <c>--name=value</c>; flags take no value.</summary>
internal sealed class BenchOptions
{
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "keep-data", "all-steps", "no-runtime-monitor", "no-settle-gc", "heap-diff", "idle-node", "storm" };

    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    private BenchOptions()
    {
    }

    public List<string> Positional { get; } = [];

    public static BenchOptions Parse(IEnumerable<string> args)
    {
        var options = new BenchOptions();
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var arg = e.Current;
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                options.Positional.Add(arg);
                continue;
            }

            var name = arg[2..];
            string value;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (Flags.Contains(name))
            {
                value = "true";
            }
            else if (e.MoveNext())
            {
                value = e.Current;
            }
            else
            {
                throw new ArgumentException($"Option --{name} needs a value.");
            }

            if (!options._values.TryGetValue(name, out var list))
            {
                options._values[name] = list = [];
            }

            list.Add(value);
        }

        return options;
    }

    /// <summary>A copy with <paramref name="name"/> set to <paramref name="value"/>: the options of one of compare's variants.</summary>
    public BenchOptions With(string name, string value)
    {
        var copy = new BenchOptions();
        copy.Positional.AddRange(Positional);
        foreach (var (key, values) in _values)
        {
            copy._values[key] = [.. values];
        }

        copy._values[name] = [value];
        return copy;
    }

    /// <summary>Sets <paramref name="name"/> unless the command line did.</summary>
    public void Default(string name, string value)
    {
        if (!_values.ContainsKey(name))
        {
            _values[name] = [value];
        }
    }

    public string[] List(string name, string[] fallback) =>
        String(name) is { } s ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : fallback;

    public string? String(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var v) ? v : [];

    public bool Flag(string name) => String(name) is "true" or "1" or "yes";

    public int Int(string name, int fallback) =>
        String(name) is { } s ? int.Parse(s.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) =>
        String(name) is { } s ? double.Parse(s, CultureInfo.InvariantCulture) : fallback;

    /// <summary>Seconds, e.g. <c>20</c> or <c>2.5</c>.</summary>
    public TimeSpan Seconds(string name, double fallback) => TimeSpan.FromSeconds(Double(name, fallback));

    public int[] Ints(string name, int[] fallback) =>
        String(name) is { } s
            ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray()
            : fallback;

    public const string Usage = """
        Herald.Bench — load generator and micro-benchmarks for Herald.

          dotnet run -c Release --project bench/Herald.Bench -- <scenario> [options]

        Scenarios:
          s1 | idle        N idle SSE connections → server memory per connection
          s2 | broadcast   1 topic, many subscribers, rising publish rate → deliveries/s at p99 < 100 ms, nothing lost
          s3 | chat        dialogs × 2 subscribers, messages through the real chat POST → latency, lost, duplicated
          s4 | scale-out   s3 on two nodes sharing PostgreSQL and Redis (started by the bench), posted on A, subscribers on A and B
          s5 | capacity    idle SSE connections up to the server's open-files limit, held over several heartbeats → dropped, RSS
          s6 | cluster     three nodes sharing PostgreSQL and Redis (started by the bench), topics split over them, durable publishes
                           spread over them at rising rates → cluster messages/s at p99 ≤ 100 ms, each node's (and PostgreSQL's, Redis's) CPU per message
          chatwrite        the chat POST alone, no subscribers → server CPU µs and bytes allocated per message (robust on a busy machine)
          all              s1, s2 and s3 in turn, each against a freshly started server (s4 and s5 run on their own)
          compare          s1, s2, s3 against Herald, Herald's Mercure hub, Nchan and SignalR alternately (each scenario on each target,
                           each against a freshly started server): a table with ratios, JSON and an SVG chart
          micro [BenchmarkDotNet args, e.g. --filter *]   micro-benchmarks of the hot path
          signalr-server --port N   the SignalR server that compare starts (not needed by hand)

        Server (default: start src/Herald.Cli/bin/Release/net10.0/herald.dll per scenario, temp data dir, free port):
          --url URL              use a running server instead
          --server-pid PID       its process id (for RSS and CPU figures)
          --server-dll PATH      another build of the server
          --server-arg ARG       pass ARG to the server (repeatable), e.g. --server-arg=--Herald:Streams:HeartbeatInterval=00:00:05
          --server-env K=V       set an environment variable for the server (repeatable), e.g. --server-env DOTNET_gcConcurrent=1
          --keep-data            keep the temp data directory (and server.log)
          --no-settle-gc         S2/S3: measure right after connecting, without first inducing one full GC in the server
          --storm                S3: the reconnect-storm variant — warm-up (default 3 s) with nobody connected, then every
                                 subscriber at once (no --max-pending limit), measured at once, no settling GC
          --transport sse|ws|poll  Herald's subscribers in S1/S3: SSE (default), its WebSockets, or long polling (S3)
          --heap-diff            S3/S4: live objects the publishing node kept per message over the window (two heap
                                 snapshots, each a full collection: the run's latency figures are off)
          --no-runtime-monitor   do not attach to the server over EventPipe for GC pause and thread-pool figures
          --via mercure          s1, s2, s3 (and all) through Herald's Mercure hub: subscribers GET /.well-known/mercure?topic=,
                                 publishers POST a form with an HS256 JWT (compare: the target herald-mercure)
          --mercure-key KEY      with --url and --via mercure: the running server's Herald:Mercure:JwtKey

        Load generator:
          --per-worker N         connections per worker process (default 10000; the per-process open-files limit is 20000)
          --per-source N         connections per source address 127.0.0.x (default 5000)
          --max-pending N        handshakes in flight per worker (default 256)
          --connect-timeout S    seconds (default 30)
          --out PATH             JSON report (default artifacts/bench/bench-<time>.json)

        Compare:  --targets herald,herald-mercure,nchan,signalr  --scenarios s1,s2,s3  --svg PATH (docs/benchmarks.svg)
                  --herald-transports ws,poll (extra Herald runs: S1 over ws, S3 over ws and poll; "none" for none)
                  --storm (adds S3's storm variant on every target)
                  sizes as below, but S1 defaults to 20000 connections; Nchan needs nginx + libnginx-mod-nchan

        S1:  --connections N (10000)  --topics N (1000)  --hold S (20)
        S2:  --subscribers N (2000)  --rates 25,50,... publishes/s (plus the rate making 40,000 deliveries/s)  --step S (5)  --payload BYTES (64)  --publishers N (8)  --warmup S (15)  --all-steps (default: stop after two failed steps)
        S3:  --dialogs N (5000)  --per-dialog N (2)  --rate N msgs/s (1000)  --duration S (20)  --warmup S (10)  --publishers N (16)
        chatwrite:  --dialogs N (200)  --rate N msgs/s (500)  --duration S (20)  --warmup S (10)  --publishers N (16)
        S4:  S3's options; --pg-commit sync|async (sync: every commit waits for its fsync); not with --url (it starts redis-server, a PostgreSQL cluster and two nodes itself)
        S5:  --heartbeat S (5; a --server-arg setting Herald:Streams:HeartbeatInterval wins)  --hold S (30)  --topics N (1000)
             --max-connections N (default: the open-files limit less the headroom)  --fd-headroom N (default: the server's open descriptors + 100)
        S6:  --topics N (300)  --per-topic N (2)  --rates 100,200,... messages/s  --step S (10)  --warmup S (30)  --publishers N (16)  --payload BYTES (64)  --baseline S (5)
             --idle-node (C holds no subscriber and gets no publish)  --all-steps  --pg-commit sync|async; not with --url
        """;
}
