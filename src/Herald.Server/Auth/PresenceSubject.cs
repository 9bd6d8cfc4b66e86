using System.Globalization;

namespace Herald.Server.Auth;

/// <summary>
/// Who a connection is, for presence and for disconnecting a user: a <see cref="Kind"/> and an <see cref="Id"/> within
/// it (operator → its operator id, guest → its guest id, service → its key's name, app user → its token's sub). Two connections with the same
/// subject are one person (or one backend) connected twice.
/// </summary>
public readonly record struct PresenceSubject(string Kind, string Id)
{
    /// <summary>The kinds a subject can have, as <c>POST /api/disconnect</c> accepts them.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["operator", "guest", "service", "user"];

    /// <summary>
    /// The one place a principal becomes a subject. A new kind of principal adds its line here, and to <see cref="Kinds"/>.
    /// </summary>
    public static PresenceSubject Of(Principal principal) => principal switch
    {
        OperatorPrincipal op => new("operator", op.OperatorId.ToString(CultureInfo.InvariantCulture)),
        // Site-token and guest-mode visitors are the same person to an operator: both are "guest".
        GuestPrincipal guest => new("guest", guest.GuestId),
        ServicePrincipal service => new("service", service.KeyName),
        // An app user is its token's sub: two tabs (or two devices) of one user are one subject.
        AppUserPrincipal user => new("user", user.Subject),
        _ => new(principal.Kind, ""),
    };

    /// <summary><c>kind:id</c>; the kind never contains ':', so the key splits back at its first one.</summary>
    public string Key => Kind + ":" + Id;

    /// <summary>The subject of a <see cref="Key"/>.</summary>
    public static PresenceSubject FromKey(string key)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? new(key, "") : new(key[..colon], key[(colon + 1)..]);
    }
}
