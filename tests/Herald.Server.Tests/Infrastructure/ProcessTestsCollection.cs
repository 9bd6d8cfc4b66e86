namespace Herald.Server.Tests.Infrastructure;

/// <summary>
/// Tests that start real processes (Herald nodes, PostgreSQL, Redis, nginx) and time a drain. They run one at a
/// time after the parallel tests: their load would otherwise disturb the timing-sensitive in-process tests (token
/// expiry, heartbeats), and their own timings are measured on a quiet machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessTestsCollection
{
    public const string Name = "Real processes, one at a time";
}
