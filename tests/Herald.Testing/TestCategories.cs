namespace Herald.Testing;

/// <summary>
/// Trait values that split the quick loop from the slow suite: <c>dotnet test --filter "Category!=Slow"</c> leaves out
/// the tests that start several processes, nginx, a PostgreSQL cluster or chaos; <c>scripts/test.sh</c> runs everything.
/// </summary>
public static class TestCategories
{
    /// <summary>The trait name (<c>[Trait(TestCategories.Name, TestCategories.Slow)]</c>).</summary>
    public const string Name = "Category";

    /// <summary>Needs more than a second or two, or components beyond Kestrel and redis-server.</summary>
    public const string Slow = "Slow";
}
