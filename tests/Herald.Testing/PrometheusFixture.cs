using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Herald.Testing;

/// <summary>
/// Runs Debian's real <c>prometheus</c> on 127.0.0.1, on a free port, with its TSDB in a temporary directory, scraping
/// one target (a Herald node's <c>/metrics</c>) every <c>scrapeInterval</c>. Queries go through Prometheus's HTTP API,
/// so what a test reads is what Prometheus made of the exposition, not what a test parser thinks of it.
/// </summary>
/// <remarks>
/// If <c>/usr/bin/prometheus</c> (or <c>PROMETHEUS</c>) is missing or does not become ready, the fixture fails with a
/// message saying how to install it and what Prometheus printed; it never skips.
/// </remarks>
public sealed class PrometheusFixture : IAsyncDisposable
{
    private const string DefaultPath = "/usr/bin/prometheus";
    private const int OutputLines = 200;

    private readonly ConcurrentQueue<string> _output = new();
    private readonly TempDirectory _directory = new("herald-prometheus-");
    private Process? _process;

    private PrometheusFixture()
    {
    }

    /// <summary>Prometheus's own address (its HTTP API).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>An HttpClient for <see cref="BaseAddress"/>.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>The recent output of prometheus, for assertion messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>
    /// Starts Prometheus scraping <paramref name="target"/> (<c>http://127.0.0.1:port</c>) at <paramref name="metricsPath"/>
    /// every <paramref name="scrapeInterval"/> (1 s unless given).
    /// </summary>
    public static async Task<PrometheusFixture> StartAsync(Uri target, string metricsPath = "/metrics", TimeSpan? scrapeInterval = null)
    {
        var fixture = new PrometheusFixture();
        try
        {
            await fixture.LaunchAsync(target, metricsPath, scrapeInterval ?? TimeSpan.FromSeconds(1));
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }

        return fixture;
    }

    /// <summary>
    /// Waits until Prometheus has scraped the target successfully at least once (its health <c>up</c>), and fails with
    /// the target's last error otherwise.
    /// </summary>
    public async Task WaitForScrapeAsync(TimeSpan? timeout = null)
    {
        string last = "(no target yet)";
        try
        {
            await Poll.UntilAsync(async () =>
            {
                var targets = await GetDataAsync("/api/v1/targets?state=active");
                foreach (var t in targets.GetProperty("activeTargets").EnumerateArray())
                {
                    last = t.ToString();
                    if (t.GetProperty("health").GetString() == "up")
                    {
                        return true;
                    }
                }

                return false;
            }, timeout ?? TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Prometheus did not scrape its target successfully. Target: {last}\nPrometheus output:\n{Output}");
        }
    }

    /// <summary>Every metric name Prometheus has stored (<c>/api/v1/label/__name__/values</c>).</summary>
    public async Task<IReadOnlySet<string>> MetricNamesAsync()
    {
        var data = await GetDataAsync("/api/v1/label/__name__/values");
        return data.EnumerateArray().Select(e => e.GetString()!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>An instant query; returns the <c>data</c> object (<c>resultType</c>, <c>result</c>). Fails on a PromQL error.</summary>
    public Task<JsonElement> QueryAsync(string promql) => GetDataAsync("/api/v1/query?query=" + Uri.EscapeDataString(promql));

    /// <summary>The samples of an instant vector query: each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> VectorAsync(string promql)
    {
        var data = await QueryAsync(promql);
        var samples = new List<(IReadOnlyDictionary<string, string>, double)>();
        foreach (var item in data.GetProperty("result").EnumerateArray())
        {
            var labels = item.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
            var value = double.Parse(item.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            samples.Add((labels, value));
        }

        return samples;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token);
            process.Dispose();
        }

        Client?.Dispose();
        _directory.Dispose();
    }

    private async Task<JsonElement> GetDataAsync(string pathAndQuery)
    {
        using var response = await Client.GetAsync(pathAndQuery);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (!response.IsSuccessStatusCode || body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Prometheus answered {(int)response.StatusCode} to {pathAndQuery}: {body}");
        }

        return body.GetProperty("data").Clone();
    }

    private static string FindPrometheus()
    {
        var configured = Environment.GetEnvironmentVariable("PROMETHEUS");
        var path = string.IsNullOrEmpty(configured) ? DefaultPath : configured;
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"{path} not found: run scripts/test.sh, which installs Debian's prometheus package (or set PROMETHEUS to its path).");
    }

    private async Task LaunchAsync(Uri target, string metricsPath, TimeSpan scrapeInterval)
    {
        var path = FindPrometheus();
        var interval = $"{Math.Max(1, (int)scrapeInterval.TotalSeconds)}s";
        var config = Path.Combine(_directory.Path, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: {interval}
              scrape_timeout: {interval}
            scrape_configs:
              - job_name: herald
                metrics_path: {metricsPath}
                static_configs:
                  - targets: ["{target.Authority}"]
            """);

        Exception? last = null;
        // The free port can be taken before prometheus binds it; try a few.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            BaseAddress = new Uri($"http://127.0.0.1:{LoopbackPort.GetFree()}");
            Client?.Dispose();
            Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            try
            {
                await StartProcessAsync(path, config);
                return;
            }
            catch (InvalidOperationException ex) when (Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                last = ex;
            }
        }

        throw last!;
    }

    private async Task StartProcessAsync(string path, string config)
    {
        _output.Clear();
        var data = Path.Combine(_directory.Path, "data");
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList =
            {
                "--config.file=" + config,
                "--storage.tsdb.path=" + data,
                "--web.listen-address=" + BaseAddress.Authority,
                "--log.level=warn",
            },
        };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                _process = null;
                await process.WaitForExitAsync();
                throw new InvalidOperationException($"prometheus exited with {process.ExitCode} before it was ready. Its output:\n{Output}");
            }

            try
            {
                using var ready = await Client.GetAsync("/-/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"prometheus on {BaseAddress} was not ready within 30 s. Its output:\n{Output}");
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLines && _output.TryDequeue(out _))
        {
        }
    }
}
