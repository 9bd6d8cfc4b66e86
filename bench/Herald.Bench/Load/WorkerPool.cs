using System.Diagnostics;
using System.Text.Json;

namespace Herald.Bench.Load;

/// <summary>
/// The coordinator's side of the worker processes: launches <c>Herald.Bench --worker</c> children (each
/// below the per-process open-files limit), hands out connections, gathers progress and statistics.
/// </summary>
internal sealed class WorkerPool : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];

    private WorkerPool()
    {
    }

    public int Count => _workers.Count;

    /// <summary>Starts enough workers for <paramref name="connections"/> at <paramref name="perWorker"/> each.</summary>
    public static WorkerPool Start(int connections, int perWorker)
    {
        var pool = new WorkerPool();
        var count = Math.Max(1, (connections + perWorker - 1) / perWorker);
        for (var i = 0; i < count; i++)
        {
            pool._workers.Add(WorkerProcess.Launch());
        }

        return pool;
    }

    /// <summary>Splits the subscriptions over the workers (contiguous slices, each with its own source addresses).</summary>
    public void Connect(IReadOnlyList<Subscription> subscriptions, int port, int perSource, int maxPending, TimeSpan timeout, string protocol = ConnectSpec.Sse)
    {
        var per = (subscriptions.Count + _workers.Count - 1) / _workers.Count;
        var source = 2; // 127.0.0.1 is the server's; clients start at .2
        for (var w = 0; w < _workers.Count; w++)
        {
            var slice = subscriptions.Skip(w * per).Take(per).ToArray();
            var spec = new ConnectSpec(port, source, perSource, maxPending, (int)timeout.TotalMilliseconds,
                slice.Select(s => s.Target).ToArray(), slice.Select(s => s.Topic).ToArray())
            {
                Protocol = protocol,
            };
            source += Math.Max(1, (slice.Length + perSource - 1) / perSource);
            _workers[w].Send(new WorkerCommand("connect") { Connect = spec });
        }
    }

    /// <summary>Sum of the latest progress reports (cheap, a moment stale).</summary>
    public PoolStats Progress()
    {
        var stats = new PoolStats();
        foreach (var worker in _workers)
        {
            worker.ThrowIfFailed();
            if (worker.LastProgress is { } p)
            {
                stats.Add(new WorkerMessage("progress") { Counters = p });
            }
        }

        return stats;
    }

    /// <summary>Asks every worker for its statistics; <paramref name="published"/> lets them count what they should have received.</summary>
    public async Task<PoolStats> StatsAsync(long[]? published, bool histogram, bool reset, bool keepDeliveries = false)
    {
        var replies = await Task.WhenAll(_workers.Select(w =>
            w.RequestAsync(new WorkerCommand("stats") { Published = published, Histogram = histogram, Reset = reset, KeepDeliveries = keepDeliveries }, "stats")));
        var stats = new PoolStats();
        foreach (var reply in replies)
        {
            stats.Add(reply);
        }

        return stats;
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_workers.Select(w => w.StopAsync()));
    }

    private sealed class WorkerProcess
    {
        private readonly Process _process;
        private readonly Lock _gate = new();
        private readonly Task _reader;
        private TaskCompletionSource<WorkerMessage>? _reply;
        private string? _replyType;
        private string? _error;

        private WorkerProcess(Process process)
        {
            _process = process;
            // A thread of its own with blocking reads: an async read of a child's stdout pipe blocks a pool thread
            // anyway, for as long as the worker runs (see RuntimeMonitor).
            _reader = Task.Factory.StartNew(Read, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        public WorkerCounters? LastProgress { get; private set; }

        public static WorkerProcess Launch()
        {
            var info = SelfLaunch.StartInfo("--worker");
            info.RedirectStandardInput = true;
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = false;
            // The worker's own thread pool has almost nothing to do; keep it from spinning on the shared cores.
            info.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0";
            var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start a worker process.");
            return new WorkerProcess(process);
        }

        public void ThrowIfFailed()
        {
            if (_error is not null)
            {
                throw new InvalidOperationException($"Worker {_process.Id} failed: {_error}");
            }
        }

        public void Send(WorkerCommand command)
        {
            var line = JsonSerializer.Serialize(command, WorkerJson.Default.WorkerCommand);
            lock (_gate)
            {
                _process.StandardInput.WriteLine(line);
                _process.StandardInput.Flush();
            }
        }

        public async Task<WorkerMessage> RequestAsync(WorkerCommand command, string replyType)
        {
            var tcs = new TaskCompletionSource<WorkerMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                ThrowIfFailed();
                _reply = tcs;
                _replyType = replyType;
            }

            Send(command);
            return await tcs.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public async Task StopAsync()
        {
            if (!_process.HasExited)
            {
                try
                {
                    await RequestAsync(new WorkerCommand("close"), "closed");
                }
                catch (Exception ex) when (ex is IOException or TimeoutException or InvalidOperationException)
                {
                }

                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill();
                }
            }

            await _reader;
            _process.Dispose();
        }

        private void Read()
        {
            try
            {
                while (_process.StandardOutput.ReadLine() is { } line)
                {
                    var message = JsonSerializer.Deserialize(line, WorkerJson.Default.WorkerMessage);
                    if (message is null)
                    {
                        continue;
                    }

                    if (message.Type == "progress")
                    {
                        LastProgress = message.Counters;
                        continue;
                    }

                    TaskCompletionSource<WorkerMessage>? reply = null;
                    lock (_gate)
                    {
                        if (message.Type == "error")
                        {
                            _error = message.Message;
                            _reply?.TrySetException(new InvalidOperationException($"Worker {_process.Id}: {message.Message}"));
                            _reply = null;
                        }
                        else if (message.Type == _replyType)
                        {
                            reply = _reply;
                            _reply = null;
                        }
                    }

                    reply?.TrySetResult(message);
                }
            }
            catch (JsonException ex)
            {
                _error = "unreadable output: " + ex.Message;
            }

            lock (_gate)
            {
                _error ??= _process.HasExited && _process.ExitCode != 0 ? $"exited with code {_process.ExitCode}" : null;
                _reply?.TrySetException(new IOException($"Worker {_process.Id} exited."));
            }
        }
    }
}
