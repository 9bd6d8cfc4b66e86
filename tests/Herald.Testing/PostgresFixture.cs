using System.Diagnostics;

namespace Herald.Testing;

/// <summary>
/// A real PostgreSQL cluster for one test run: <c>initdb</c> in a temporary directory, <c>pg_ctl start</c> on a free
/// loopback port, removed on dispose. As root, the cluster runs as the <c>postgres</c> user (PostgreSQL refuses
/// to run as root). Fails with a clear message when PostgreSQL is not installed — never skips.
/// </summary>
public sealed class PostgresFixture : IAsyncDisposable
{
    private readonly string _root;
    private readonly string _bin;
    private readonly bool _asPostgres;

    private PostgresFixture(string root, string bin, int port, bool asPostgres)
    {
        _root = root;
        _bin = bin;
        Port = port;
        _asPostgres = asPostgres;
    }

    public int Port { get; }

    public string DataDirectory => Path.Combine(_root, "data");

    /// <summary>
    /// The postmaster's process id, from the first line of <c>postmaster.pid</c> (null while stopped). Every backend
    /// and background worker is its child: benchmarks add up the tree's CPU time from /proc.
    /// </summary>
    public int? ServerProcessId
    {
        get
        {
            try
            {
                var first = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
                return int.TryParse(first, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) ? pid : null;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    /// <summary>Connection string for database <paramref name="database"/> (created by <see cref="CreateDatabaseAsync"/>).</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=herald;Database={database};Pooling=true;Maximum Pool Size=50;Timeout=15";

    /// <param name="durable">false turns fsync off: faster, for functional tests; benchmarks keep it on.</param>
    public static async Task<PostgresFixture> StartAsync(bool durable = false)
    {
        var bin = FindBinaries();
        var root = Directory.CreateTempSubdirectory("herald-pg-").FullName;
        var asPostgres = Environment.UserName == "root";
        if (asPostgres)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", root], asUser: null);
        }

        var fixture = new PostgresFixture(root, bin, LoopbackPort.GetFree(), asPostgres);
        await fixture.RunPgAsync("initdb", ["-D", fixture.DataDirectory, "-U", "herald", "--auth=trust", "-E", "UTF8", "--no-instructions"]);
        var options = $"-p {fixture.Port} -c listen_addresses=127.0.0.1 -k {root} -c max_connections=200";
        if (!durable)
        {
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        }

        await fixture.RunPgAsync("pg_ctl", ["-D", fixture.DataDirectory, "-o", options, "-l", Path.Combine(root, "postgres.log"), "-w", "-t", "60", "start"]);
        return fixture;
    }

    public async Task CreateDatabaseAsync(string name) =>
        await RunPgAsync("createdb", ["-h", "127.0.0.1", "-p", Port.ToString(), "-U", "herald", name]);

    /// <summary>Stops the server (fast shutdown); <see cref="StartAgainAsync"/> brings it back on the same port.</summary>
    public Task StopAsync() => RunPgAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"]);

    public Task StartAgainAsync() =>
        RunPgAsync("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_root, "postgres.log"), "-w", "-t", "60", "start"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunPgAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Task RunPgAsync(string tool, string[] args) => RunAsync(Path.Combine(_bin, tool), args, _asPostgres ? "postgres" : null);

    private static async Task RunAsync(string file, string[] args, string? asUser)
    {
        var start = asUser is null ? new ProcessStartInfo(file) : new ProcessStartInfo("runuser", ["-u", asUser, "--", file, .. args]);
        if (asUser is null)
        {
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = "/tmp";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed ({process.ExitCode}): {await stdout}{await stderr}");
        }
    }

    private static string FindBinaries()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root).OrderByDescending(d => d, StringComparer.Ordinal).Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/test.sh, which installs the Debian package 'postgresql'.");
    }
}
