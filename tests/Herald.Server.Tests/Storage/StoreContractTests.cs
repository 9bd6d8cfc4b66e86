using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Herald.Server.Auth;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Dialogs;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Tests.Infrastructure;
using Herald.Server.Topics;
using Herald.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Herald.Server.Tests.Storage;

/// <summary>
/// The storage contract every engine must keep; run against SQLite and against a real PostgreSQL cluster.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    protected SqlStore Store { get; private set; } = null!;

    /// <summary>A second, independent store on the same database: another node.</summary>
    protected abstract Task<SqlStore> OpenAsync();

    public virtual async Task InitializeAsync()
    {
        Store = await OpenAsync();
        await Store.MigrateAsync();
    }

    public virtual async Task DisposeAsync() => await Store.DisposeAsync();

    private static async Task<IReadOnlyList<HubEvent>> PublishAsync(SqlStore store, string topic, int count) =>
        await store.CommitBatchAsync(
            Enumerable.Range(0, count).Select(i => (WriteCommand)new PublishEventCommand(topic, "message", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"))).ToList(),
            [], CancellationToken.None);

    [Fact]
    public async Task Migrate_Twice_IsANoOp()
    {
        await Store.MigrateAsync();
        Assert.Equal(0, await Store.CountOperatorsAsync());
    }

    [Fact]
    public async Task CommitBatch_IdsAreGaplessAndIncreasing_AndReadableByTopic()
    {
        var a = await PublishAsync(Store, "a", 3);
        var b = await PublishAsync(Store, "b", 2);
        var ids = a.Concat(b).Select(e => e.Id).ToList();
        Assert.Equal(Enumerable.Range((int)ids[0], 5).Select(i => (long)i), ids);
        Assert.Equal(ids[^1], await Store.GetLastEventIdAsync());

        var onlyA = await Store.ReadEventsAsync(["a"], 0, 100);
        Assert.Equal(a.Select(e => e.Id), onlyA.Select(e => e.Id));
        var both = await Store.ReadEventsAsync(["a", "b"], a[0].Id, 100);
        Assert.Equal(ids.Skip(1), both.Select(e => e.Id));
        Assert.Equal("{\"n\":1}", both[0].Data);
    }

    [Fact]
    public async Task CommitBatch_FailingCommand_CommitsNothing()
    {
        var before = await Store.GetLastEventIdAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => Store.CommitBatchAsync(
            [new PublishEventCommand("a", "message", "1"u8.ToArray()), new PostMessageCommand(dialogId: 999_999, "user", "no such dialog")],
            [], CancellationToken.None));
        Assert.Equal(before, await Store.GetLastEventIdAsync());
        Assert.Empty(await Store.ReadEventsAsync(["a"], before, 10));

        // The failed batch's transaction ended with it: the next batch (on the same kept writer connection, on SQLite)
        // begins, commits, and takes the next id of the sequence.
        var next = await PublishAsync(Store, "a", 1);
        Assert.Equal(before + 1, Assert.Single(next).Id);
        Assert.Equal(next[0].Id, Assert.Single(await Store.ReadEventsAsync(["a"], before, 10)).Id);
    }

    [Fact]
    public async Task ChatCommands_StoreMessageAndEmitItsEvents()
    {
        var results = new List<object?>();
        await Store.CommitBatchAsync([new CreateAssistantCommand("Shop", null)], results, CancellationToken.None);
        var assistant = (AssistantRecord)results[0]!;
        await Store.CommitBatchAsync([new GetOrCreateGuestDialogCommand(assistant.Id, "g1"), new GetOrCreateGuestDialogCommand(assistant.Id, "g1")], results, CancellationToken.None);
        var (dialog, created) = ((DialogRecord, bool))results[0]!;
        Assert.True(created);
        Assert.False((((DialogRecord, bool))results[1]!).Item2);

        var events = await Store.CommitBatchAsync([new PostMessageCommand(dialog.Id, "user", "Привет")], results, CancellationToken.None);
        Assert.Equal([DialogTopics.For(dialog.Id), DialogTopics.OperatorFeed, DialogTopics.OperatorFeed], events.Select(e => e.Topic));
        Assert.Equal(["message", "new_message", "dialog_update"], events.Select(e => e.Type));
        Assert.All(events.Skip(1), e => Assert.Equal(dialog.Id, e.Key));
        var messages = await Store.ListMessagesAsync(dialog.Id, null, 10);
        Assert.Equal("Привет", Assert.Single(messages).Text);
        Assert.Equal(1, (await Store.GetDialogAsync(dialog.Id))!.UnreadCount);
        var stored = await Store.ReadEventsAsync([DialogTopics.OperatorFeed], 0, 10);
        Assert.Equal(dialog.Id, stored[^1].EventKey);
    }

    [Fact]
    public async Task AssistantsAndWidgetTokens_ByIds_AreThoseThatExist_OverSeveralQueries()
    {
        var results = new List<object?>();
        await Store.CommitBatchAsync([new CreateAssistantCommand("One", null), new CreateAssistantCommand("Two", null)], results, CancellationToken.None);
        var (one, two) = ((AssistantRecord)results[0]!, (AssistantRecord)results[1]!);
        results.Clear();
        await Store.CommitBatchAsync([new CreateWidgetTokenCommand(two.Id, ["shop.example.com"], null, WidgetTokenService.NewToken())], results, CancellationToken.None);
        var token = (WidgetTokenRecord)results[0]!;

        // More ids than one IN list takes, the real ones among them.
        var ids = Enumerable.Range(1_000_000, SqlStore.MaxIdsPerQuery * 2).Select(i => (long)i).Append(one.Id).Append(two.Id).Append(token.Id).ToList();
        Assert.Equal([one.Id, two.Id], (await Store.GetAssistantsAsync(ids)).Select(a => a.Id).Order());
        Assert.Equal("[\"shop.example.com\"]", Assert.Single(await Store.GetWidgetTokensAsync(ids)).AllowedDomains);
        Assert.Empty(await Store.GetAssistantsAsync([]));
    }

    [Fact]
    public async Task ListDialogs_LeavesOutDialogsWithoutMessages_UnlessAsked()
    {
        var results = new List<object?>();
        await Store.CommitBatchAsync([new CreateAssistantCommand("Shop", null)], results, CancellationToken.None);
        var assistant = (AssistantRecord)results[0]!;
        results.Clear();
        await Store.CommitBatchAsync([new GetOrCreateGuestDialogCommand(assistant.Id, "wrote"), new GetOrCreateGuestDialogCommand(assistant.Id, "silent")], results, CancellationToken.None);
        var wrote = (((DialogRecord Dialog, bool Created))results[0]!).Dialog;
        await Store.CommitBatchAsync([new PostMessageCommand(wrote.Id, "user", "hi")], [], CancellationToken.None);

        Assert.Equal([wrote.Id], (await Store.ListDialogsAsync(new DialogFilter(assistant.Id), 10)).Select(d => d.Id));
        Assert.Equal(2, (await Store.ListDialogsAsync(new DialogFilter(assistant.Id, IncludeEmpty: true), 10)).Count);
    }

    [Fact]
    public async Task DialogStatusAndAssignee_FilterTheList_AndAVisitorsMessageReopens()
    {
        var results = new List<object?>();
        await Store.CommitBatchAsync([new CreateAssistantCommand("Shop", null), new CreateOperatorCommand("ada@example.com", "hash", "Ada")], results, CancellationToken.None);
        var (assistant, ada) = ((AssistantRecord)results[0]!, (OperatorRecord)results[1]!);
        Assert.Equal("Ada", ada.DisplayName);
        results.Clear();
        await Store.CommitBatchAsync([new GetOrCreateGuestDialogCommand(assistant.Id, "one"), new GetOrCreateGuestDialogCommand(assistant.Id, "two")], results, CancellationToken.None);
        var (one, two) = ((((DialogRecord Dialog, bool))results[0]!).Dialog, (((DialogRecord Dialog, bool))results[1]!).Dialog);
        Assert.Equal(DialogStatus.Open, one.Status);
        Assert.Null(one.AssigneeId);
        await Store.CommitBatchAsync([new PostMessageCommand(one.Id, "user", "hi"), new PostMessageCommand(two.Id, "user", "hello")], [], CancellationToken.None);

        results.Clear();
        var events = await Store.CommitBatchAsync([new SetDialogStatusCommand(one.Id, DialogStatus.Resolved), new AssignDialogCommand(two.Id, ada.Id)], results,
            CancellationToken.None);
        Assert.Equal(DialogStatus.Resolved, ((DialogRecord)results[0]!).Status);
        Assert.Equal(ada.Id, ((DialogRecord)results[1]!).AssigneeId);
        // Each change on the operators' feed and on the dialog's own topic.
        Assert.Equal([DialogTopics.OperatorFeed, DialogTopics.For(one.Id), DialogTopics.OperatorFeed, DialogTopics.For(two.Id)], events.Select(e => e.Topic));

        async Task<IEnumerable<long>> ListAsync(DialogFilter filter) => (await Store.ListDialogsAsync(filter, 10)).Select(d => d.Id).Order();
        Assert.Equal([two.Id], await ListAsync(new DialogFilter(assistant.Id, Status: DialogStatus.Open)));
        Assert.Equal([one.Id], await ListAsync(new DialogFilter(assistant.Id, Status: DialogStatus.Resolved)));
        Assert.Equal([one.Id, two.Id], await ListAsync(new DialogFilter(assistant.Id)));
        Assert.Equal([two.Id], await ListAsync(new DialogFilter(assistant.Id, AssigneeId: ada.Id)));
        Assert.Equal([one.Id], await ListAsync(new DialogFilter(assistant.Id, Unassigned: true)));

        // Setting what is already set changes nothing and announces nothing.
        Assert.Empty(await Store.CommitBatchAsync([new SetDialogStatusCommand(one.Id, DialogStatus.Resolved), new AssignDialogCommand(two.Id, ada.Id)], [],
            CancellationToken.None));

        // The operator's reply keeps the dialog resolved; the visitor writing again reopens it.
        results.Clear();
        await Store.CommitBatchAsync([new PostMessageCommand(one.Id, "manager", "done", null, ada.Id, "Ada")], results, CancellationToken.None);
        Assert.Equal("Ada", ((MessageRecord)results[0]!).AuthorName);
        Assert.Equal(DialogStatus.Resolved, (await Store.GetDialogAsync(one.Id))!.Status);
        await Store.CommitBatchAsync([new PostMessageCommand(one.Id, "user", "one more thing")], [], CancellationToken.None);
        Assert.Equal(DialogStatus.Open, (await Store.GetDialogAsync(one.Id))!.Status);
        var stored = (await Store.ListMessagesAsync(one.Id, null, 10)).Single(m => m.Sender == "manager");
        Assert.Equal((ada.Id, "Ada"), (stored.AuthorId!.Value, stored.AuthorName));

        // Removing the operator gives their dialogs back to the team.
        await Store.CommitBatchAsync([new RemoveOperatorCommand("ada@example.com")], [], CancellationToken.None);
        Assert.Null((await Store.GetDialogAsync(two.Id))!.AssigneeId);
    }

    [Fact]
    public async Task Trim_KeepsNewestPerTopic_AndRecordsTheHorizon()
    {
        var a = await PublishAsync(Store, "trim-a", 6);
        await PublishAsync(Store, "trim-b", 2);
        var removed = await Store.TrimEventsAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), 2);
        Assert.Equal(4, removed);
        Assert.Equal(a.Skip(4).Select(e => e.Id), (await Store.ReadEventsAsync(["trim-a"], 0, 10)).Select(e => e.Id));
        Assert.Equal(2, (await Store.ReadEventsAsync(["trim-b"], 0, 10)).Count);
        Assert.Equal(a[3].Id, await Store.GetTrimmedThroughAsync(["trim-a", "trim-b"]));
        Assert.Equal(0, await Store.TrimEventsAsync(DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), 0));
    }

    /// <summary>
    /// Two "nodes" commit concurrently while a reader follows the log: the reader must never see an id before a
    /// smaller one has committed — every page it reads starts exactly at last+1 and is contiguous — and in the end
    /// it has seen every event once.
    /// </summary>
    [Fact]
    public async Task ConcurrentWriters_OnTwoNodes_ReaderNeverSeesAGap()
    {
        await using var other = await OpenAsync();
        var start = await Store.GetLastEventIdAsync();
        const int Batches = 150;
        var writers = new[] { Store, other }.Select((store, n) => Task.Run(async () =>
        {
            for (var i = 0; i < Batches; i++)
            {
                await PublishAsync(store, $"node-{n}", 1 + (i % 3));
            }
        })).ToArray();
        var expected = 2 * Enumerable.Range(0, Batches).Sum(i => 1 + (i % 3));

        var seen = (await FollowGaplessAsync(start, expected)).Select(e => e.Id).ToList();
        await Task.WhenAll(writers);
        Assert.Equal(expected, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    /// <summary>
    /// Reads the log after <paramref name="start"/> while writers commit, until <paramref name="expected"/> events (or
    /// 60 s): every page must start exactly at last+1 — a reader must never see an id before a smaller one is visible.
    /// </summary>
    private async Task<List<EventRecord>> FollowGaplessAsync(long start, int expected)
    {
        var seen = new List<EventRecord>();
        var last = start;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (seen.Count < expected && DateTime.UtcNow < deadline)
        {
            var page = await Store.ReadEventRangeAsync(last, long.MaxValue, 500);
            foreach (var e in page)
            {
                Assert.True(e.Id == last + 1, $"reader saw id {e.Id} while {last + 1} was not visible yet");
                last = e.Id;
                seen.Add(e);
            }

            if (page.Count == 0)
            {
                await Task.Yield();
            }
        }

        return seen;
    }

    private async Task<(DialogRecord First, DialogRecord Second)> TwoDialogsAsync()
    {
        var results = new List<object?>();
        await Store.CommitBatchAsync([new CreateAssistantCommand("Shop", null)], results, CancellationToken.None);
        var assistant = (AssistantRecord)results[0]!;
        await Store.CommitBatchAsync([new GetOrCreateGuestDialogCommand(assistant.Id, "g1"), new GetOrCreateGuestDialogCommand(assistant.Id, "g2")],
            results, CancellationToken.None);
        return ((((DialogRecord, bool))results[0]!).Item1, (((DialogRecord, bool))results[1]!).Item1);
    }

    private static JsonElement Json(HubEvent e, string property) => JsonDocument.Parse(e.Data).RootElement.GetProperty(property);

    /// <summary>
    /// One batch of messages (one DbBatch on PostgreSQL): two to the same dialog, one to another, a retry of a message
    /// committed earlier and a retry of one earlier in the same batch. Results, events and their ids come back in
    /// command order; the retries return the earlier messages and emit nothing; the dialog is updated by both of its
    /// messages, in order.
    /// </summary>
    [Fact]
    public async Task CommitBatch_OfMessages_KeepsCommandOrder_SameDialogTwice_AndRetriedPosts()
    {
        var (d1, d2) = await TwoDialogsAsync();
        var results = new List<object?>();
        var first = new PostMessageCommand(d1.Id, "user", "earlier", "c-1");
        await Store.CommitBatchAsync([first], results, CancellationToken.None);
        var earlier = (MessageRecord)results[0]!;
        var before = await Store.GetLastEventIdAsync();

        PostMessageCommand[] batch =
        [
            new(d1.Id, "user", "one"),
            new(d2.Id, "manager", "two"),
            new(d1.Id, "user", "three", "c-3"),
            new(d1.Id, "user", "earlier, retried", "c-1"),
            new(d1.Id, "user", "three, retried", "c-3"),
        ];
        var events = await Store.CommitBatchAsync(batch, results, CancellationToken.None);

        var messages = results.Cast<MessageRecord>().ToList();
        Assert.Equal(["one", "two", "three", "earlier", "three"], messages.Select(m => m.Text));
        Assert.Equal([false, false, false, true, true], batch.Select(c => c.WasDuplicate));
        Assert.True(messages[0].Id > earlier.Id && messages[1].Id > messages[0].Id && messages[2].Id > messages[1].Id);
        Assert.Equal(earlier.Id, messages[3].Id);
        Assert.Equal(messages[2].Id, messages[4].Id);
        Assert.Equal([d1.Id, d2.Id, d1.Id, d1.Id, d1.Id], messages.Select(m => m.DialogId));

        // Three events per stored message, in command order, ids gapless from the sequence's previous value.
        Assert.Equal(Enumerable.Range(1, 9).Select(i => before + i), events.Select(e => e.Id));
        Assert.Equal(before + 9, await Store.GetLastEventIdAsync());
        Assert.Equal([DialogTopics.For(d1.Id), DialogTopics.For(d2.Id), DialogTopics.For(d1.Id)], events.Where(e => e.Type == "message").Select(e => e.Topic));
        Assert.Equal(messages.Take(3).Select(m => m.Id), events.Where(e => e.Type == "message").Select(e => Json(e, "message").GetProperty("id").GetInt64()));
        Assert.Equal(messages.Take(3).Select(m => m.Id), events.Where(e => e.Type == "new_message").Select(e => Json(e, "message").GetProperty("id").GetInt64()));
        var updates = events.Where(e => e.Type == "dialog_update").Select(e => Json(e, "dialog")).ToList();
        Assert.Equal([d1.Id, d2.Id, d1.Id], updates.Select(u => u.GetProperty("id").GetInt64()));
        Assert.Equal([2L, 0L, 3L], updates.Select(u => u.GetProperty("unread_count").GetInt64()));
        Assert.Equal(["one", "two", "three"], updates.Select(u => u.GetProperty("last_message_text").GetString()));
        Assert.Equal(events.Select(e => (e.Id, e.Topic, e.Type, Encoding.UTF8.GetString(e.Data.Span))),
            (await Store.ReadEventRangeAsync(before, long.MaxValue, 100)).Select(e => (e.Id, e.Topic, e.Type, e.Data)));

        // What is stored agrees: each dialog's messages, its counters and last message.
        Assert.Equal(["earlier", "one", "three"], (await Store.ListMessagesAsync(d1.Id, null, 10)).Select(m => m.Text));
        Assert.Equal(["two"], (await Store.ListMessagesAsync(d2.Id, null, 10)).Select(m => m.Text));
        var stored1 = (await Store.GetDialogAsync(d1.Id))!;
        Assert.Equal((3L, "three", "user"), (stored1.UnreadCount, stored1.LastMessageText, stored1.LastMessageSender));
        var stored2 = (await Store.GetDialogAsync(d2.Id))!;
        Assert.Equal((0L, "two", "manager"), (stored2.UnreadCount, stored2.LastMessageText, stored2.LastMessageSender));

        // The same command objects run again, as the writer does after a failed batch: those with a client_message_id
        // are retries now, whatever their earlier run returned.
        events = await Store.CommitBatchAsync(batch[2..], results, CancellationToken.None);
        Assert.Empty(events);
        Assert.All(batch[2..], c => Assert.True(c.WasDuplicate));
        Assert.Equal([messages[2].Id, earlier.Id, messages[2].Id], results.Cast<MessageRecord>().Select(m => m.Id));
        Assert.Equal(3, (await Store.ListMessagesAsync(d1.Id, null, 10)).Count);
    }

    /// <summary>
    /// A batch whose third message goes to a dialog that does not exist: the transaction fails as a whole, and the
    /// writer's retry of each command alone fails only that one; the others commit with gapless ids in order.
    /// </summary>
    [Fact]
    public async Task Writer_BatchWithAFailingMessage_IsolatesIt()
    {
        var (d1, d2) = await TwoDialogsAsync();
        var before = await Store.GetLastEventIdAsync();
        PostMessageCommand[] commands = [new(d1.Id, "user", "a"), new(d2.Id, "user", "b"), new(999_999, "user", "nowhere"), new(d1.Id, "user", "c")];

        // As one batch the failure takes everything with it.
        await Assert.ThrowsAnyAsync<Exception>(() => Store.CommitBatchAsync(commands, [], CancellationToken.None));
        Assert.Equal(before, await Store.GetLastEventIdAsync());
        Assert.Empty(await Store.ListMessagesAsync(d1.Id, null, 10));

        // Through the writer: queued before it starts, so its first batch holds all four.
        var bus = new RecordingBus();
        await ThroughWriterAsync(bus, commands, async pending =>
        {
            await Assert.ThrowsAnyAsync<Exception>(() => pending[2]);
            var stored = new[] { await pending[0], await pending[1], await pending[3] };
            Assert.Equal(["a", "b", "c"], stored.Select(m => m.Text));
            Assert.Equal(["a", "c"], (await Store.ListMessagesAsync(d1.Id, null, 10)).Select(m => m.Text));
            Assert.Equal(["b"], (await Store.ListMessagesAsync(d2.Id, null, 10)).Select(m => m.Text));
            var published = bus.Events.ToList();
            Assert.Equal(Enumerable.Range(1, 9).Select(i => before + i), published.Select(e => e.Id));
            Assert.Equal(stored.Select(m => m.Id), published.Where(e => e.Type == "message").Select(e => Json(e, "message").GetProperty("id").GetInt64()));
            Assert.Equal(before + 9, await Store.GetLastEventIdAsync());
        });
    }

    /// <summary>
    /// Delivery that throws after a batch has committed (a fault in the bus or a subscriber) must neither fail the
    /// committed requests nor run them again: the writer once retried the whole batch command by command, which
    /// stored every message twice.
    /// </summary>
    [Fact]
    public async Task Writer_PublishThatThrowsAfterCommit_CompletesTheRequestsAndStoresEachMessageOnce()
    {
        var (d1, d2) = await TwoDialogsAsync();
        var before = await Store.GetLastEventIdAsync();
        PostMessageCommand[] commands = [new(d1.Id, "user", "a"), new(d2.Id, "user", "b"), new(d1.Id, "user", "c")];
        var bus = new ThrowingBus();
        await ThroughWriterAsync(bus, commands, async pending =>
        {
            var stored = new[] { await pending[0], await pending[1], await pending[2] };
            Assert.Equal(["a", "b", "c"], stored.Select(m => m.Text));
            Assert.Equal(["a", "c"], (await Store.ListMessagesAsync(d1.Id, null, 10)).Select(m => m.Text));
            Assert.Equal(["b"], (await Store.ListMessagesAsync(d2.Id, null, 10)).Select(m => m.Text));
            // Three events per message, stored once; the bus was asked once, with all of them.
            Assert.Equal(before + 9, await Store.GetLastEventIdAsync());
            Assert.Equal(1, bus.Calls);
        });
    }

    /// <summary>
    /// Queues <paramref name="commands"/> on a real <see cref="EventWriter"/> over <see cref="Store"/> before starting
    /// it (so its first batch holds them all), runs <paramref name="check"/> on their pending results, stops it.
    /// </summary>
    private Task ThroughWriterAsync(IEventBus bus, IReadOnlyList<PostMessageCommand> commands, Func<List<Task<MessageRecord>>, Task> check)
    {
        List<Task<MessageRecord>> pending = [];
        return WithWriterAsync(bus, writer => pending = commands.Select(c => writer.ExecuteAsync(c)).ToList(), _ => check(pending));
    }

    /// <summary>
    /// A real <see cref="EventWriter"/> over <see cref="Store"/>: <paramref name="beforeStart"/> may queue on it, then it
    /// starts, <paramref name="whileRunning"/> runs, and it stops (within 30 s, or the test fails).
    /// </summary>
    private async Task WithWriterAsync(IEventBus bus, Action<EventWriter> beforeStart, Func<EventWriter, Task> whileRunning)
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var writer = new EventWriter(Store, bus, new HeraldMetrics(services.GetRequiredService<IMeterFactory>()),
            Options.Create(new HeraldOptions()), NullLogger<EventWriter>.Instance);
        beforeStart(writer);
        await writer.StartAsync(CancellationToken.None);
        try
        {
            await whileRunning(writer);
        }
        finally
        {
            await writer.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>
    /// Many concurrent callers of one <see cref="EventWriter"/>: each write stored once, the events published once each
    /// with gapless ids in publish order, and the writer still stops.
    /// </summary>
    [Fact]
    public async Task ConcurrentWrites_ThroughTheWriter_CommitEachOnce_InOrder()
    {
        var (dialog, _) = await TwoDialogsAsync();
        var bus = new RecordingBus();
        var start = await Store.GetLastEventIdAsync();
        const int Callers = 8, Each = 60;
        await WithWriterAsync(bus, beforeStart: _ => { }, async writer =>
        {
            var callers = Enumerable.Range(0, Callers).Select(c => Task.Run(async () =>
            {
                var ids = new List<long>();
                for (var i = 0; i < Each; i++)
                {
                    ids.Add((await writer.ExecuteAsync(new PostMessageCommand(dialog.Id, "user", $"{c}.{i}"))).Id);
                }

                return ids;
            })).ToArray();
            var messageIds = (await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60))).SelectMany(ids => ids).ToList();

            Assert.Equal(Callers * Each, messageIds.Distinct().Count());
            var published = bus.Events.Select(e => e.Id).ToList();
            Assert.Equal(Enumerable.Range(1, Callers * Each * 3).Select(n => start + n), published);
            Assert.Equal(start + (Callers * Each * 3), await Store.GetLastEventIdAsync());
        });
    }

    /// <summary>
    /// Two nodes commit batches of chat messages concurrently while a reader follows the log: ids stay gapless and
    /// in commit order (the reader never sees one before a smaller one), every event is seen once, and on each node
    /// the message events follow the message ids.
    /// </summary>
    [Fact]
    public async Task ConcurrentMessageBatches_OnTwoNodes_ReaderNeverSeesAGap()
    {
        var (d1, d2) = await TwoDialogsAsync();
        await using var other = await OpenAsync();
        var start = await Store.GetLastEventIdAsync();
        const int Batches = 60;
        var writers = new[] { (Store, d1), (other, d2) }.Select(node => Task.Run(async () =>
        {
            for (var i = 0; i < Batches; i++)
            {
                var batch = Enumerable.Range(0, 1 + (i % 3)).Select(k => (WriteCommand)new PostMessageCommand(node.Item2.Id, "user", $"{i}.{k}")).ToList();
                await node.Item1.CommitBatchAsync(batch, [], CancellationToken.None);
            }
        })).ToArray();
        var expected = 3 * 2 * Enumerable.Range(0, Batches).Sum(i => 1 + (i % 3));

        var seen = await FollowGaplessAsync(start, expected);
        await Task.WhenAll(writers);
        Assert.Equal(expected, seen.Count);
        foreach (var dialog in new[] { d1, d2 })
        {
            var ids = seen.Where(e => e.Topic == DialogTopics.For(dialog.Id))
                .Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("message").GetProperty("id").GetInt64()).ToList();
            Assert.Equal(expected / 6, ids.Count);
            Assert.Equal(ids.Order(), ids);
            Assert.Equal(expected / 6, (await Store.GetDialogAsync(dialog.Id))!.UnreadCount);
        }
    }

    private sealed class ThrowingBus : IEventBus
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public string State => "disabled";

        public void Publish(IReadOnlyList<HubEvent> events)
        {
            Interlocked.Increment(ref _calls);
            throw new InvalidOperationException("delivery failed");
        }
    }

    protected sealed class RecordingBus : IEventBus
    {
        public ConcurrentQueue<HubEvent> Events { get; } = new();

        public string State => "disabled";

        public void Publish(IReadOnlyList<HubEvent> events)
        {
            foreach (var e in events)
            {
                Events.Enqueue(e);
            }
        }
    }
}
