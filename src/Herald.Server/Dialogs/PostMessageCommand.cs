using System.Data;
using System.Data.Common;
using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>
/// Stores a message and emits its one <c>message:new</c> event in the same transaction. With a
/// <c>client_message_id</c> already used in the dialog, returns that message and emits nothing (a retried POST).
/// </summary>
/// <remarks>
/// On PostgreSQL the messages of a write batch go to the server as one batch of statements
/// (<see cref="IBatchedWrite"/>), each storing its message and updating its dialog in one statement; elsewhere
/// (SQLite, in process) two statements per message.
/// </remarks>
public sealed class PostMessageCommand(long dialogId, string sender, string text, string? clientMessageId = null) : WriteCommand<MessageRecord>, IBatchedWrite
{
    private const int PreviewLength = 200;

    private const string InsertMessageSql = """
        INSERT INTO messages (dialog_id, sender, text, created_at, client_message_id) VALUES (@dialogId, @sender, @text, @now, @clientMessageId)
        ON CONFLICT (dialog_id, client_message_id) DO NOTHING
        """;

    private const string UpdateDialogSql = """
        UPDATE dialogs SET last_message_at = @now, last_message_text = @preview, last_message_sender = @sender,
            unread_count = CASE WHEN @sender = 'user' THEN dialogs.unread_count + 1 ELSE 0 END
        """;

    // PostgreSQL, one statement per message, written from the same two pieces: the dialog is updated only when the
    // message row was inserted (not a retried POST), and the updated dialog comes back with the message id. Positional
    // ($1 = @dialogId, ... in AddTo's order) because Npgsql sends a batch command with only positional parameters
    // as it is, without parsing its text for every execution.
    private static readonly string BatchedSql = Positional(
        $"""
        WITH m AS ({InsertMessageSql} RETURNING id)
        {UpdateDialogSql} FROM m WHERE dialogs.id = @dialogId
        RETURNING m.id, dialogs.id, dialogs.assistant_id, dialogs.guest_id, dialogs.created_at, dialogs.last_message_at,
            dialogs.last_message_text, dialogs.last_message_sender, dialogs.unread_count
        """,
        "@dialogId", "@sender", "@text", "@now", "@clientMessageId", "@preview");

    // What the batched statement returned (IBatchedWrite.ReadAsync), for IBatchedWrite.CompleteAsync.
    private long _messageId;
    private DialogRecord? _dialog;

    /// <summary>True when the result is an earlier message with the same client_message_id.</summary>
    public bool WasDuplicate { get; private set; }

    private string Preview => text.Length > PreviewLength ? text[..PreviewLength] : text;

    protected override async Task<MessageRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var connection = context.Connection;
        var args = new { dialogId, sender, text, preview = Preview, now = context.NowMs, clientMessageId };
        var id = await connection.ExecuteScalarAsync<long?>($"{InsertMessageSql} RETURNING id", args, context.Transaction);
        var dialog = id is null ? null : await connection.QuerySingleAsync<DialogRecord>(
            $"{UpdateDialogSql} WHERE id = @dialogId RETURNING *", args, context.Transaction);
        return await FinishAsync(context, id ?? 0, dialog);
    }

    void IBatchedWrite.AddTo(DbBatch batch, WriteContext context)
    {
        _messageId = 0;
        _dialog = null;
        var command = batch.CreateBatchCommand();
        command.CommandText = BatchedSql;
        command.Parameters.Add(Parameter(command, DbType.Int64, dialogId));
        command.Parameters.Add(Parameter(command, DbType.String, sender));
        command.Parameters.Add(Parameter(command, DbType.String, text));
        command.Parameters.Add(Parameter(command, DbType.Int64, context.NowMs));
        command.Parameters.Add(Parameter(command, DbType.String, clientMessageId));
        command.Parameters.Add(Parameter(command, DbType.String, Preview));
        batch.BatchCommands.Add(command);
    }

    async Task IBatchedWrite.ReadAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        if (!await reader.ReadAsync(cancellationToken))
        {
            return; // no row inserted: a retried POST
        }

        _messageId = reader.GetInt64(0);
        _dialog = new DialogRecord
        {
            Id = reader.GetInt64(1),
            AssistantId = reader.GetInt64(2),
            GuestId = reader.IsDBNull(3) ? null : reader.GetString(3),
            CreatedAt = reader.GetInt64(4),
            LastMessageAt = reader.IsDBNull(5) ? null : reader.GetInt64(5),
            LastMessageText = reader.IsDBNull(6) ? null : reader.GetString(6),
            LastMessageSender = reader.IsDBNull(7) ? null : reader.GetString(7),
            UnreadCount = reader.GetInt64(8),
        };
    }

    async Task<object?> IBatchedWrite.CompleteAsync(WriteContext context, CancellationToken cancellationToken) =>
        await FinishAsync(context, _messageId, _dialog);

    /// <summary>Emits the events of a stored message; for a retried POST (nothing stored) reads the earlier message instead.</summary>
    private async Task<MessageRecord> FinishAsync(WriteContext context, long id, DialogRecord? dialog)
    {
        if (dialog is null)
        {
            WasDuplicate = true;
            return await context.Connection.QuerySingleAsync<MessageRecord>(
                "SELECT * FROM messages WHERE dialog_id = @dialogId AND client_message_id = @clientMessageId", new { dialogId, clientMessageId }, context.Transaction);
        }

        WasDuplicate = false;
        var message = new MessageRecord { Id = id, DialogId = dialogId, Sender = sender, Text = text, CreatedAt = context.NowMs, ClientMessageId = clientMessageId };
        var dto = MessageDto.From(message);
        // Exactly one event on the dialog's own stream; the operators' feed gets its two views of the same change.
        context.Emit(DialogTopics.For(dialogId), "message", new MessageNewEvent(dto).ToUtf8());
        // A probe's dialog (herald doctor) never reaches operators: no sound, no unread row for a test message.
        if (!dialog.IsProbe)
        {
            context.Emit(DialogTopics.OperatorFeed, "new_message", new NewMessageEvent(dialogId, dto).ToUtf8(), dialogId);
            DialogTopics.EmitDialogUpdate(context, dialog);
        }
        return message;
    }

    /// <summary><paramref name="sql"/> with each of <paramref name="names"/> replaced by <c>$1</c>, <c>$2</c>, ... in order.</summary>
    private static string Positional(string sql, params string[] names)
    {
        // Longest first, so that no name is replaced inside a longer one that begins with it.
        foreach (var (name, position) in names.Select((n, i) => (n, i + 1)).OrderByDescending(p => p.n.Length))
        {
            sql = sql.Replace(name, "$" + position, StringComparison.Ordinal);
        }

        return sql;
    }

    private static DbParameter Parameter(DbBatchCommand command, DbType type, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.DbType = type;
        parameter.Value = value ?? DBNull.Value;
        return parameter;
    }
}
