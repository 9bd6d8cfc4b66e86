namespace Herald.Bench.Load;

/// <summary>The server runtime's GC and thread-pool behaviour over an interval.</summary>
internal sealed class RuntimeFigures
{
    public int[] Collections { get; } = new int[3];
    public int Induced { get; set; }
    public double TotalPauseMs { get; set; }
    public double MaxPauseMs { get; set; }
    public int PausesOver10Ms { get; set; }
    public int MaxPauseGeneration { get; set; } = -1;
    public double AllocatedMb { get; set; }
    public long ThreadPoolThreadsMax { get; set; }
    public double ThreadPoolQueueMax { get; set; }

    public override string ToString() =>
        $"GCs gen0 {Collections[0]}, gen1 {Collections[1]}, gen2 {Collections[2]}; pauses total {TotalPauseMs:F0} ms, max {MaxPauseMs:F1} ms (gen{MaxPauseGeneration}), {PausesOver10Ms} over 10 ms; allocated {AllocatedMb:F0} MB; thread pool ≤ {ThreadPoolThreadsMax} threads, queue ≤ {ThreadPoolQueueMax:F0}";
}
