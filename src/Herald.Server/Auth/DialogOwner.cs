namespace Herald.Server.Auth;

/// <summary>Who a dialog belongs to: all that authorising a request for it needs.</summary>
public sealed record DialogOwner(long Id, long AssistantId, string? GuestId);
