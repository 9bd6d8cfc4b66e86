namespace Herald.Testing;

/// <summary>A guest identity and its dialog.</summary>
public sealed record Guest(long AssistantId, string GuestId, long DialogId)
{
    public string Query => $"assistant_id={AssistantId}&guest_id={GuestId}";
}
