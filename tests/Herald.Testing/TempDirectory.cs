namespace Herald.Testing;

/// <summary>A temp directory removed at the end of the test (after the app that used it is disposed).</summary>
public sealed class TempDirectory(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a file still open only leaves a temp directory behind.
        }
    }
}
