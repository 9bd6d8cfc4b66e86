using System.Text.Json;
using Herald.Server.Api;
using Herald.Server.Dialogs;
using Herald.Server.Storage;

namespace Herald.Server.Tests.Dialogs;

/// <summary>
/// The chat events' JSON is written by hand on the writer's thread (issue 22); these pin it, byte for byte, to what the
/// serializer writes for the event records through <see cref="HeraldJson.Options"/> — the shapes clients parse.
/// </summary>
public sealed class ChatEventJsonTests
{
    public static TheoryData<string, string?> Messages => new()
    {
        { "hello", null },
        { "привет, <b>\"quoted\"</b> & 'single' \\ back\nslash\ttab \u0001 😀 \u2028", "c-1_x" },
        { new string('x', 5000), "retry-id" },
        { "", null },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void MessageEvents_AreTheSerializersBytes(string text, string? clientMessageId)
    {
        var message = new MessageRecord { Id = 1234567890123, DialogId = 42, Sender = "user", Text = text, CreatedAt = 1764932400123, ClientMessageId = clientMessageId };
        var dto = MessageDto.From(message);

        var messageNew = ChatEventJson.MessageNew(message, out var start);

        Assert.Equal(Serialize(new MessageNewEvent(dto)), Utf8(messageNew));
        Assert.Equal(Serialize(new NewMessageEvent(42, dto)), Utf8(ChatEventJson.NewMessage(message)));
        // The POST's answer is the message object inside the event.
        Assert.Equal(Serialize(dto), Utf8(messageNew.AsSpan(start, messageNew.Length - start - 1).ToArray()));
    }

    [Theory]
    [InlineData(null, null, null, null, false)]
    [InlineData("guest-1", 1764932400999L, "привет <script>", "user", true)]
    public void DialogUpdate_IsTheSerializersBytes(string? guestId, long? lastAt, string? lastText, string? lastSender, bool created)
    {
        var dialog = new DialogRecord
        {
            Id = 7, AssistantId = 3, GuestId = guestId, CreatedAt = 0, LastMessageAt = lastAt, LastMessageText = lastText, LastMessageSender = lastSender, UnreadCount = 12,
        };

        Assert.Equal(Serialize(new DialogUpdateEvent(DialogDto.From(dialog), created)), Utf8(ChatEventJson.DialogUpdate(dialog, created)));
    }

    private static string Serialize<T>(T value) => Utf8(JsonSerializer.SerializeToUtf8Bytes(value, HeraldJson.Options));

    private static string Utf8(byte[] bytes) => System.Text.Encoding.UTF8.GetString(bytes);
}
