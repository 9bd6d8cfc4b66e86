namespace Herald.Server.Storage;

/// <summary>
/// The few places where SQLite and PostgreSQL SQL differ. Everything else (DML with <c>@name</c>
/// parameters, <c>RETURNING</c>, <c>ON CONFLICT</c>) is written once in <see cref="SqlStore"/>.
/// </summary>
public abstract class SqlDialect
{
    /// <summary>Column definition of an auto-numbered primary key.</summary>
    public abstract string IdentityColumn { get; }

    /// <summary>Statement that serialises migrations across nodes (empty when the transaction already does).</summary>
    public abstract string MigrationLock { get; }

    public abstract string Name { get; }

    /// <summary>The smaller of two values: SQLite's two-argument MIN, PostgreSQL's LEAST.</summary>
    public abstract string Least { get; }

    /// <summary>
    /// Whether the consecutive <c>Pipeline.IBatchedWrite</c> commands of a write batch are sent as one
    /// <see cref="System.Data.Common.DbBatch"/> (PostgreSQL; their SQL may use data-modifying <c>WITH</c> and
    /// <c>$n</c> parameters). Over a network every round trip is waited for by the node's single writer; SQLite
    /// runs in process, and Microsoft.Data.Sqlite cannot batch.
    /// </summary>
    public virtual bool BatchesStatements => false;
}
