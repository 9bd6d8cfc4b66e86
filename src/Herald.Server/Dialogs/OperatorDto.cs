using Herald.Server.Auth;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>An operator as other operators see them (<c>GET /api/operators</c>): never sent to a visitor, who gets only the display name.</summary>
public sealed record OperatorDto(long Id, string Email, string DisplayName)
{
    public static OperatorDto From(OperatorRecord o) => new(o.Id, o.Email, OperatorAccountRules.DisplayNameOf(o));
}
