using System.Security.Cryptography;
using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

/// <summary>Turns verified identities on (with a fresh secret) or off.</summary>
public sealed class SetIdentityVerificationCommand(long assistantId, bool required) : WriteCommand<AssistantRecord?>
{
    protected override Task<AssistantRecord?> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        context.Connection.QuerySingleOrDefaultAsync<AssistantRecord>(
            """
            UPDATE assistants SET require_verified_identity = @required,
                identity_secret = CASE WHEN @required = 1 THEN COALESCE(identity_secret, @secret) ELSE identity_secret END
            WHERE id = @assistantId RETURNING *
            """,
            new { assistantId, required = required ? 1L : 0L, secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)) }, context.Transaction);
}
