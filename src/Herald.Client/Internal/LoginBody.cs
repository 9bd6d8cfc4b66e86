namespace Herald.Client.Internal;

internal sealed record LoginBody(string Email, string Password);
