using System.Data.Common;
using Npgsql;

namespace Herald.Server.Storage;

/// <summary>
/// PostgreSQL through Npgsql: the store several nodes share. Event ids stay gapless and in commit order
/// across nodes because every batch updates the one <c>herald_sequences</c> row last, holding its row lock
/// until commit (see <see cref="SqlStore.CommitBatchAsync"/>).
/// </summary>
public sealed class PostgresStore : SqlStore
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresStore(string connectionString) : base(PostgresDialect.Instance) =>
        _dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 64, AutoPrepareMinUsages = 2 }.ConnectionString);

    protected override async ValueTask<DbConnection> OpenReadConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
