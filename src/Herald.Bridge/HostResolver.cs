using System.Net;

namespace Herald.Bridge;

/// <summary>Resolves a host name to its addresses; replaceable so tests can map a name to a private address.</summary>
internal delegate Task<IPAddress[]> HostResolver(string host, CancellationToken cancellationToken);
