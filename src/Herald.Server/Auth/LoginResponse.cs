namespace Herald.Server.Auth;

public sealed record LoginResponse(string AccessToken, string TokenType, long ExpiresIn);
