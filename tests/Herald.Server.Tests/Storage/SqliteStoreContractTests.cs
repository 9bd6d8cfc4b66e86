using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Herald.Server.Auth;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Dialogs;
using Herald.Server.Hub;
using Herald.Server.Storage;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

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
