namespace Herald.Server.Storage;

/// <summary>The states of a dialog (<c>dialogs.status</c>): a team works the open ones.</summary>
public static class DialogStatus
{
    public const string Open = "open";
    public const string Resolved = "resolved";

    public static bool IsKnown(string? status) => status is Open or Resolved;
}
