using System.Diagnostics;

namespace Herald.Bench.Report;

/// <summary>
/// One status line on stderr, rewritten in place twice a second (or printed every 5 s when stderr is not a
/// terminal, so logs stay readable).
/// </summary>
internal sealed class ProgressLine : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly long _started = Stopwatch.GetTimestamp();
    private volatile Func<string> _status;
    private int _lastLength;

    public ProgressLine(string prefix, Func<string> status)
    {
        Prefix = prefix;
        _status = status;
        _loop = Task.Run(LoopAsync);
    }

    public string Prefix { get; set; }

    public void SetStatus(Func<string> status) => _status = status;

    private async Task LoopAsync()
    {
        var interactive = !Console.IsErrorRedirected;
        var period = TimeSpan.FromMilliseconds(interactive ? 500 : 5000);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(period, _stop.Token);
                Print(interactive);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Print(bool interactive)
    {
        string text;
        try
        {
            text = $"[{Prefix} {Stopwatch.GetElapsedTime(_started).TotalSeconds,5:F1}s] {_status()}";
        }
        catch (InvalidOperationException ex)
        {
            text = $"[{Prefix}] {ex.Message}";
        }

        if (interactive)
        {
            var width = Math.Max(40, Console.BufferWidth - 1);
            if (text.Length > width)
            {
                text = text[..width];
            }

            Console.Error.Write("\r" + text.PadRight(Math.Max(_lastLength, text.Length)));
            _lastLength = text.Length;
        }
        else
        {
            Console.Error.WriteLine(text);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        if (!Console.IsErrorRedirected && _lastLength > 0)
        {
            Console.Error.Write("\r" + new string(' ', _lastLength) + "\r");
        }

        _stop.Dispose();
    }
}
