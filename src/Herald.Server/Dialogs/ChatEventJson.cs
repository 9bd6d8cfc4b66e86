using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>
/// Writes the chat events' JSON — <see cref="MessageNewEvent"/>, <see cref="NewMessageEvent"/>,
/// <see cref="DialogUpdateEvent"/> — straight from the stored records into UTF-8, each into one exact array.
/// </summary>
/// <remarks>
/// The records are the shapes (and what <c>ChatEventJsonTests</c> compares these bytes with, through
/// <see cref="HeraldJson.Options"/>); writing them here skips, per chat message, three serializer runs with their
/// stacks and the DTOs' intermediate strings (each time formatted twice): about 2 KB and a visible share of the CPU of
/// a chat POST (issue 22). Runs on the writer's thread; the buffer and the JSON writer are that thread's, reused.
/// </remarks>
public static class ChatEventJson
{
    // ISO 8601 UTC with milliseconds, as HeraldJson.FormatTime writes it.
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary><c>{"type":"message:new","message":{...}}</c>, the dialog topic's event; <paramref name="messageStart"/> is where the message object begins.</summary>
    public static byte[] MessageNew(MessageRecord message, out int messageStart)
    {
        var writer = Begin();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message:new"u8);
        writer.WritePropertyName("message"u8);
        writer.Flush();
        messageStart = (int)writer.BytesCommitted;
        WriteMessage(writer, message);
        writer.WriteEndObject();
        return End(writer);
    }

    /// <summary><c>{"type":"new_message","dialog_id":..,"message":{...}}</c>, for the operators' feed.</summary>
    public static byte[] NewMessage(MessageRecord message)
    {
        var writer = Begin();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "new_message"u8);
        writer.WriteNumber("dialog_id"u8, message.DialogId);
        writer.WritePropertyName("message"u8);
        WriteMessage(writer, message);
        writer.WriteEndObject();
        return End(writer);
    }

    /// <summary><c>{"type":"dialog_update","dialog":{...},"created":..}</c>, for the operators' feed.</summary>
    public static byte[] DialogUpdate(DialogRecord dialog, bool created)
    {
        var writer = Begin();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "dialog_update"u8);
        writer.WriteStartObject("dialog"u8);
        writer.WriteNumber("id"u8, dialog.Id);
        writer.WriteNumber("assistant_id"u8, dialog.AssistantId);
        WriteStringOrNull(writer, "guest_id"u8, dialog.GuestId);
        WriteTime(writer, "created_at"u8, dialog.CreatedAt);
        if (dialog.LastMessageAt is { } at)
        {
            WriteTime(writer, "last_message_at"u8, at);
        }
        else
        {
            writer.WriteNull("last_message_at"u8);
        }

        WriteStringOrNull(writer, "last_message_text"u8, dialog.LastMessageText);
        WriteStringOrNull(writer, "last_message_sender"u8, dialog.LastMessageSender);
        writer.WriteNumber("unread_count"u8, dialog.UnreadCount);
        writer.WriteString("status"u8, dialog.Status);
        if (dialog.AssigneeId is { } assignee)
        {
            writer.WriteNumber("assignee_id"u8, assignee);
        }
        else
        {
            writer.WriteNull("assignee_id"u8);
        }

        writer.WriteEndObject();
        writer.WriteBoolean("created"u8, created);
        writer.WriteEndObject();
        return End(writer);
    }

    // MessageDto's shape: client_message_id, author_id and author_name only when there is one.
    private static void WriteMessage(Utf8JsonWriter writer, MessageRecord message)
    {
        writer.WriteStartObject();
        writer.WriteNumber("id"u8, message.Id);
        writer.WriteNumber("dialog_id"u8, message.DialogId);
        writer.WriteString("sender"u8, message.Sender);
        writer.WriteString("text"u8, message.Text);
        WriteTime(writer, "created_at"u8, message.CreatedAt);
        if (message.ClientMessageId is { } clientId)
        {
            writer.WriteString("client_message_id"u8, clientId);
        }

        if (message.AuthorId is { } authorId)
        {
            writer.WriteNumber("author_id"u8, authorId);
        }

        if (message.AuthorName is { } authorName)
        {
            writer.WriteString("author_name"u8, authorName);
        }

        writer.WriteEndObject();
    }

    private static void WriteStringOrNull(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteTime(Utf8JsonWriter writer, ReadOnlySpan<byte> name, long unixMs)
    {
        Span<byte> time = stackalloc byte[32];
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.TryFormat(time, out var length, TimeFormat, CultureInfo.InvariantCulture);
        writer.WriteString(name, time[..length]);
    }

    private static Utf8JsonWriter Begin()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        if (t_writer is { } writer)
        {
            writer.Reset(buffer);
            return writer;
        }

        // The serializer's encoder, so that the text is escaped exactly as HeraldJson.Options escapes it.
        return t_writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = HeraldJson.Options.Encoder, SkipValidation = true });
    }

    private static byte[] End(Utf8JsonWriter writer)
    {
        writer.Flush();
        return t_buffer!.WrittenSpan.ToArray();
    }
}
