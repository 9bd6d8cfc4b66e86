using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>Where a dialog's visitor is, as the widget last said (<c>GET /api/dialogs/{id}/visitor</c>).</summary>
public sealed record DialogVisitorDto(long DialogId, string? PageUrl, string? Referrer, string? UserAgent, string? UpdatedAt)
{
    public static DialogVisitorDto From(DialogVisitorRecord v) =>
        new(v.DialogId, v.PageUrl, v.Referrer, v.UserAgent, HeraldJson.FormatTime(v.UpdatedAt));

    /// <summary>A dialog whose widget has said nothing yet: every field null.</summary>
    public static DialogVisitorDto Unknown(long dialogId) => new(dialogId, null, null, null, null);
}
