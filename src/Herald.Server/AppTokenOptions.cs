namespace Herald.Server;

/// <summary>
/// <c>Herald:AppTokens</c>: subscriber tokens that an application's backend signs for its own users, granting the
/// generic topics they may subscribe (and publish) to. Off until a key is configured. docs/apps.md is the guide.
/// </summary>
public sealed class AppTokenOptions : TokenKeyRingOptions
{
}
