using System.Net.Mail;

namespace Herald.Server.Auth;

/// <summary>
/// What an operator's email and password must be, in one place for every way an operator comes to exist or changes
/// a password (<c>herald users add</c> / <c>passwd</c>, <c>HERALD_ADMIN_EMAIL</c> / <c>HERALD_ADMIN_PASSWORD</c> at
/// start) and for how the login looks one up. docs/security.md, "Operator accounts".
/// </summary>
public static class OperatorAccountRules
{
    /// <summary>RFC 5321's limit on a forward path; the login does not look up anything longer.</summary>
    public const int MaxEmailLength = 320;

    /// <summary>NIST SP 800-63B's minimum for a memorised secret chosen by its user.</summary>
    public const int MinPasswordLength = 8;

    /// <summary>PBKDF2 hashes every byte: a bound keeps one login attempt from costing more than any real password.</summary>
    public const int MaxPasswordLength = 1024;

    /// <summary>Emails are stored and looked up trimmed and in lower case, so <c>Admin@X</c> and <c>admin@x</c> are one account.</summary>
    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    /// <summary>Why <paramref name="email"/> cannot be an operator's login, or null when it can.</summary>
    public static string? EmailProblem(string? email)
    {
        var value = email?.Trim() ?? "";
        if (value.Length == 0)
        {
            return "the email is empty";
        }

        if (value.Length > MaxEmailLength)
        {
            return $"the email is {value.Length} characters; the maximum is {MaxEmailLength}";
        }

        // A bare address (no display name, no comments): what MailAddress parses must be the whole input.
        return MailAddress.TryCreate(value, out var address) && address.Address == value && address.Host.Length > 0 && address.User.Length > 0
            ? null
            : $"'{value}' is not an email address such as operator@example.com";
    }

    /// <summary>Why <paramref name="password"/> cannot be an operator's password, or null when it can.</summary>
    public static string? PasswordProblem(string? password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < MinPasswordLength)
        {
            return $"the password must be at least {MinPasswordLength} characters";
        }

        return password.Length > MaxPasswordLength ? $"the password must be at most {MaxPasswordLength} characters" : null;
    }

    /// <summary>Display names are short labels: a chat bubble shows them whole.</summary>
    public const int MaxDisplayNameLength = 100;

    /// <summary>Why <paramref name="name"/> cannot be an operator's display name, or null when it can (trimmed by the caller).</summary>
    public static string? DisplayNameProblem(string? name) =>
        string.IsNullOrEmpty(name) || name.Length > MaxDisplayNameLength || !Api.TextRules.IsWellFormedUtf16(name) || name.Any(char.IsControl)
            ? $"the display name must be 1-{MaxDisplayNameLength} printable characters"
            : null;

    /// <summary>
    /// The name visitors see on an operator's messages: the one set, else the email's local part as words
    /// (<c>jane.doe@shop.example</c> → <c>Jane Doe</c>). Never the email itself: visitors must not learn it.
    /// </summary>
    public static string DisplayNameOf(Storage.OperatorRecord account)
    {
        if (!string.IsNullOrWhiteSpace(account.DisplayName))
        {
            return account.DisplayName;
        }

        var local = account.Email.Split('@')[0];
        var words = local.Split(['.', '_', '-', '+'], StringSplitOptions.RemoveEmptyEntries)
            .Select(w => char.ToUpperInvariant(w[0]) + w[1..]);
        var name = string.Join(' ', words);
        return name.Length is > 0 and <= MaxDisplayNameLength ? name : "Operator";
    }
}
