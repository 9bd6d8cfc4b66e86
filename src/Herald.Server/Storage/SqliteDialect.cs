namespace Herald.Server.Storage;

public sealed class SqliteDialect : SqlDialect
{
    public static readonly SqliteDialect Instance = new();

    public override string IdentityColumn => "INTEGER PRIMARY KEY AUTOINCREMENT";

    // BEGIN IMMEDIATE already holds SQLite's single write lock.
    public override string MigrationLock => "";

    public override string Name => "sqlite";

    public override string Least => "MIN";
}
