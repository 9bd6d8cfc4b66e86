namespace Herald.Server.Backplane;

/// <summary>
/// A read about every node could not be answered because the backplane (Redis) is out of reach. The server API
/// answers it with 503 <c>backplane_unavailable</c> instead of a 500, and a half answer (this node only) is never given.
/// </summary>
public sealed class BackplaneUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
