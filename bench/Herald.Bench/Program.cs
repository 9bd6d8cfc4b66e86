using Herald.Bench;
using Herald.Bench.Load;
using Herald.Bench.Micro;

// Herald.Bench: `--worker` is the load generator's child process; `micro` runs BenchmarkDotNet; anything else
// is a load scenario run by the coordinator.
if (args.Contains("--worker"))
{
    return SseWorker.Run();
}

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    Console.WriteLine(BenchOptions.Usage);
    return args.Length == 0 ? 2 : 0;
}

if (args[0] == "micro")
{
    return MicroBenchmarks.Run(args[1..]);
}

return await LoadRunner.RunAsync(args[0], BenchOptions.Parse(args[1..]));
