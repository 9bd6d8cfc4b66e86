namespace Herald.Server.Auth;

public sealed record LoginRequest(string? Email, string? Password);
