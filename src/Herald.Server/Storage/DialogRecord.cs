namespace Herald.Server.Storage;

public sealed class DialogRecord
{
    /// <summary>
    /// Guest ids of diagnostic probes (<c>herald doctor</c>): their dialogs work like any other for the guest, but
    /// never reach operators: not on the operators' feed, not in the dialog list. docs/security.md, "Probe dialogs".
    /// </summary>
    public const string ProbeGuestPrefix = "herald-probe-";

    public long Id { get; set; }
    public long AssistantId { get; set; }
    public string? GuestId { get; set; }
    public long CreatedAt { get; set; }
    public long? LastMessageAt { get; set; }
    public string? LastMessageText { get; set; }
    public string? LastMessageSender { get; set; }
    public long UnreadCount { get; set; }

    /// <summary><see cref="DialogStatus.Open"/> or <see cref="DialogStatus.Resolved"/>.</summary>
    public string Status { get; set; } = DialogStatus.Open;

    /// <summary>The operator the dialog is assigned to, or null.</summary>
    public long? AssigneeId { get; set; }

    public bool IsProbe => GuestId?.StartsWith(ProbeGuestPrefix, StringComparison.Ordinal) == true;
}
