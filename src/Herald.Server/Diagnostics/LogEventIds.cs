namespace Herald.Server.Diagnostics;

/// <summary>
/// The event id range of every <c>*Log</c> class: each log line of Herald goes through a <c>[LoggerMessage]</c>
/// method of the class for its area, with an id in that class's range. Ids are stable once shipped (alerts, log
/// queries and dashboards filter on them); a new line takes the next free id of its range. docs/deploy.md, "Logs",
/// has the same table for operators, and a test holds every <c>[LoggerMessage]</c> to it.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>ids</term><description>class (category)</description></listheader>
/// <item><term>1-99</term><description><c>Herald.Client.Internal.HeraldClientLog</c> (the .NET client, in the consuming app)</description></item>
/// <item><term>100-139</term><description><see cref="StreamLog"/> (<c>SSE Manager</c>): connect, disconnect, drain</description></item>
/// <item><term>140-149</term><description><c>Auth.GrantLog</c>: streams closed because their grant was withdrawn</description></item>
/// <item><term>200-209</term><description><c>Hub.HubLog</c>: heartbeat, stream leases</description></item>
/// <item><term>210-299</term><description><c>Pipeline.PipelineLog</c>: dispatch</description></item>
/// <item><term>300-399</term><description><c>Storage.StorageLog</c>: the writer, retention</description></item>
/// <item><term>400-499</term><description><c>Backplane.BackplaneLog</c>: the Redis bus and its connections, the store watcher (440-449: the interest loop of <c>Herald:Redis:Subscribe=interest</c>)</description></item>
/// <item><term>500-599</term><description><c>Transports.TransportLog</c> (<c>WebSocket</c>)</description></item>
/// <item><term>600-699</term><description><c>Dialogs.ChatLog</c> (<c>WIDGET→ADMIN</c>)</description></item>
/// <item><term>700-799</term><description><c>Operations.OperationsLog</c>: start-up, first operator, metrics</description></item>
/// <item><term>800-899</term><description><c>Ui.UiLog</c>: the demo</description></item>
/// <item><term>1100-1119</term><description><see cref="PresenceLog"/>: presence, the server API's disconnects across nodes</description></item>
/// <item><term>1300-1349</term><description><c>Mercure.MercureLog</c>: the Mercure hub's publishes and refused tokens</description></item>
/// <item><term>6001-6099</term><description><c>Herald.Bridge.BridgeLog</c> (<c>Herald.Bridge</c>)</description></item>
/// </list>
/// A fault a loop survived is logged with its exception and counted in <c>herald_loop_faults_total{loop}</c>.
/// </remarks>
internal static class LogEventIds
{
    /// <summary>The table above: the <c>*Log</c> class's name, its first and its last id.</summary>
    public static IReadOnlyList<(string LogClass, int First, int Last)> Ranges { get; } =
    [
        ("HeraldClientLog", 1, 99),
        ("StreamLog", 100, 139),
        ("GrantLog", 140, 149),
        ("HubLog", 200, 209),
        ("PipelineLog", 210, 299),
        ("StorageLog", 300, 399),
        ("BackplaneLog", 400, 499),
        ("TransportLog", 500, 599),
        ("ChatLog", 600, 699),
        ("OperationsLog", 700, 799),
        ("UiLog", 800, 899),
        ("PresenceLog", 1100, 1119),
        ("MercureLog", 1300, 1349),
        ("BridgeLog", 6001, 6099),
    ];
}
