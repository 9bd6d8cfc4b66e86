using Herald.Server.Storage;

namespace Herald.Server.Tests.Storage;

public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("herald-store-").FullName;

    protected override Task<SqlStore> OpenAsync() => Task.FromResult<SqlStore>(new SqliteStore(Path.Combine(_directory, "herald.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
