using System.Reflection;
using Herald.Server.Diagnostics;
using Herald.Server.Hosting;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Extensions.Logging;

namespace Herald.Server.Tests.Diagnostics;

public sealed class LogEventIdsTests
{
    private static readonly Assembly[] LoggingAssemblies = 
        [typeof(HeraldApp).Assembly, typeof(Herald.Bridge.BridgeEndpoints).Assembly];

    [Fact]
    public void EveryLoggerMessage_HasAStableIdInTheRangeOfItsClass()
    {
        var messages = LoggingAssemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Select(m => (Type: t, Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>())))
            .Where(x => x.Attribute is not null)
            .ToList();
        Assert.NotEmpty(messages);

        foreach (var (type, method, attribute) in messages)
        {
            var name = $"{type.Name}.{method.Name}";
            Assert.True(type.Name.EndsWith("Log", StringComparison.Ordinal), $"{name}: [LoggerMessage] lives in a *Log class");
            var range = LogEventIds.Ranges.SingleOrDefault(r => r.LogClass == type.Name);
            Assert.True(range.LogClass is not null, $"{type.Name} has no range in LogEventIds");
            Assert.InRange(attribute!.EventId, range.First, range.Last);
        }

        var duplicates = messages.GroupBy(x => x.Attribute!.EventId).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(duplicates);
        var overlapping = LogEventIds.Ranges.SelectMany(a => LogEventIds.Ranges.Where(b => a != b && a.First <= b.Last && b.First <= a.Last)).ToList();
        Assert.Empty(overlapping);
    }

    [Fact]
    public async Task ChatPostAndRefusedSocket_LogWithTheirEventIds_InSeedCategories()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Logging:LogLevel:Default"] = "Information" });
        var guest = await server.OpenGuestDialogAsync();
        await server.PostGuestMessageAsync(guest, "hello");
        await server.PostGuestMessageAsync(guest, "again");
        await using (var ws = await WsTestClient.ConnectAsync(server.BaseAddress, $"/ws/dialogs/{guest.DialogId}"))
        {
            await ws.WaitForCloseAsync();
        }

        await Poll.UntilAsync(() => server.Logs.Entries.Any(e => e.Category == "WebSocket"), TimeSpan.FromSeconds(10));
        var published = server.Logs.Entries.Where(e => e.Category == "WIDGET→ADMIN").ToList();
        Assert.Equal(2, published.Count);
        Assert.All(published, e => Assert.Equal(new EventId(600, "MessagePublished"), e.EventId));
        Assert.StartsWith($"Message from user published: dialog_id={guest.DialogId}, message_id=", published[0].Message, StringComparison.Ordinal);
        var refused = Assert.Single(server.Logs.Entries, e => e.Category == "WebSocket");
        Assert.Equal(500, refused.EventId.Id);
        Assert.Equal("WebSocket refused: 4001 unauthorized", refused.Message);
    }
}
