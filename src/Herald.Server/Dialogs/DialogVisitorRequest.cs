namespace Herald.Server.Dialogs;

public sealed record DialogVisitorRequest(string? PageUrl, string? Referrer);
