using Herald.Bench;
using Herald.Bench.Load;
using Herald.Bench.Micro;
using Herald.Bench.Targets;

// Herald.Bench: `--worker` is the load generator's child process; `signalr-server` is the SignalR peer it
// compares with; `micro` runs BenchmarkDotNet; `compare` runs the scenarios against Herald, Nchan and SignalR;
// anything else is a load scenario run by the coordinator against Herald.
if (args.Contains("--worker"))
{
    return SseWorker.Run();
}

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    Console.WriteLine(BenchOptions.Usage);
    return args.Length == 0 ? 2 : 0;
}

if (args[0] == "signalr-server")
{
    return await SignalRBenchServer.RunAsync(BenchOptions.Parse(args[1..]));
}

if (args[0] == "compare")
{
    return await CompareRunner.RunAsync(BenchOptions.Parse(args[1..]));
}

if (args[0] == "micro")
{
    return MicroBenchmarks.Run(args[1..]);
}

return await LoadRunner.RunAsync(args[0], BenchOptions.Parse(args[1..]));
