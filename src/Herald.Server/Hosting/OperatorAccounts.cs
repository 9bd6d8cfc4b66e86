using Herald.Server.Auth;
using Herald.Server.Dialogs;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Hosting;

/// <summary>
/// Operator accounts written straight to the store, with or without a running node: <c>herald users</c> and the
/// first operator at start. Emails are normalised and passwords hashed here, the same way for both; the rules a new
/// email or password must meet are <see cref="OperatorAccountRules"/>, checked by the caller so it can say whose
/// input was wrong. These commands emit no events, so they do not need the node's writer.
/// </summary>
public sealed class OperatorAccounts(SqlStore store, OperatorPasswords passwords)
{
    public Task<IReadOnlyList<OperatorRecord>> ListAsync(CancellationToken ct) => store.ListOperatorsAsync(ct);

    /// <summary>Creates an operator; <see cref="StoreValidationException"/> (conflict) when the email is taken.</summary>
    public Task<OperatorRecord> AddAsync(string email, string password, string? displayName, CancellationToken ct) =>
        CommitAsync(new CreateOperatorCommand(OperatorAccountRules.NormalizeEmail(email), passwords.Hash(password), displayName), ct);

    /// <summary>Replaces a password; <see cref="StoreValidationException"/> (not found) for an unknown email.</summary>
    public Task<OperatorRecord> SetPasswordAsync(string email, string password, CancellationToken ct) =>
        CommitAsync(new SetOperatorPasswordCommand(OperatorAccountRules.NormalizeEmail(email), passwords.Hash(password)), ct);

    /// <summary>Sets (or with null, resets to the default) the name visitors see; <see cref="StoreValidationException"/> (not found) for an unknown email.</summary>
    public async Task<OperatorRecord> SetDisplayNameAsync(string email, string? displayName, CancellationToken ct)
    {
        var normalized = OperatorAccountRules.NormalizeEmail(email);
        var account = await store.FindOperatorByEmailAsync(normalized, ct)
            ?? throw new StoreValidationException(Protocol.ErrorCodes.NotFound, $"No operator has the email '{normalized}'.");
        return await CommitAsync(new SetOperatorDisplayNameCommand(account.Id, displayName), ct);
    }

    /// <summary>Removes an operator; <see cref="StoreValidationException"/> (not found) for an unknown email.</summary>
    public Task<OperatorRecord> RemoveAsync(string email, CancellationToken ct) =>
        CommitAsync(new RemoveOperatorCommand(OperatorAccountRules.NormalizeEmail(email)), ct);

    private async Task<OperatorRecord> CommitAsync(WriteCommand<OperatorRecord> command, CancellationToken ct)
    {
        List<object?> results = [];
        await store.CommitBatchAsync([command], results, ct);
        return (OperatorRecord)results[0]!;
    }
}
