using Herald.Server.Storage;
using Microsoft.AspNetCore.Identity;

namespace Herald.Server.Auth;

/// <summary>Operator passwords: ASP.NET Core Identity's PBKDF2 hasher (a standard slow KDF, constant-time compare).</summary>
public sealed class OperatorPasswords
{
    private readonly PasswordHasher<OperatorRecord> _hasher = new();
    private readonly string _dummyHash;

    public OperatorPasswords() => _dummyHash = _hasher.HashPassword(new OperatorRecord(), Guid.NewGuid().ToString());

    public string Hash(string password) => _hasher.HashPassword(new OperatorRecord(), password);

    public bool Verify(OperatorRecord? account, string password)
    {
        var result = _hasher.VerifyHashedPassword(account ?? new OperatorRecord(), account?.PasswordHash ?? _dummyHash, password);
        return account is not null && result != PasswordVerificationResult.Failed;
    }
}
