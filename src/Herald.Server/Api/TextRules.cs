using System.Text;
using Herald.Protocol;

namespace Herald.Server.Api;

/// <summary>What a message text may contain.</summary>
public static class TextRules
{
    /// <summary>Validates a message text: present, not blank, within <paramref name="maxLength"/>, well-formed Unicode, no NUL.</summary>
    public static ApiError? ValidateMessageText(string? text, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return ApiError.BadRequest(ErrorCodes.MissingField, "'text' is required and must not be empty.");
        }

        if (text.Length > maxLength)
        {
            return ApiError.BadRequest(ErrorCodes.TextTooLong, $"'text' is {text.Length} characters; the maximum is {maxLength}.");
        }

        // NUL and lone surrogates cannot be stored by every engine (PostgreSQL rejects both) and break clients.
        if (text.Contains('\0', StringComparison.Ordinal) || !IsWellFormedUtf16(text))
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'text' contains a NUL character or an unpaired surrogate.");
        }

        return null;
    }

    public static bool IsWellFormedUtf16(string value)
    {
        var span = value.AsSpan();
        while (!span.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(span, out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }

            span = span[consumed..];
        }

        return true;
    }
}
