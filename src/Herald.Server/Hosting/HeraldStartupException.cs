namespace Herald.Server.Hosting;

/// <summary>
/// The node cannot start where it was started (its data directory cannot be written, its store cannot be opened):
/// the operator must change the machine or a setting, so the message names the setting or path and what was
/// expected, and <c>herald serve</c> prints it as one line (exit code 1) instead of a stack trace.
/// </summary>
public sealed class HeraldStartupException : Exception
{
    public HeraldStartupException()
    {
    }

    public HeraldStartupException(string message) : base(message)
    {
    }

    public HeraldStartupException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
