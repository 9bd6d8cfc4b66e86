namespace Herald.Server.Storage;

/// <summary>
/// Which dialogs <see cref="SqlStore.ListDialogsAsync"/> returns (<c>GET /api/dialogs</c>): null fields do not filter.
/// <see cref="Unassigned"/> keeps only dialogs nobody is assigned; <see cref="AssigneeId"/> only one operator's.
/// </summary>
public sealed record DialogFilter(long? AssistantId = null, bool IncludeEmpty = false, string? Status = null, long? AssigneeId = null, bool Unassigned = false);
