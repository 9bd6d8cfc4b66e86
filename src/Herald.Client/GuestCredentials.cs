using System.Net.Http.Headers;

namespace Herald.Client;

/// <summary>A widget guest (<c>?assistant_id=&amp;guest_id=</c>).</summary>
/// <param name="AssistantId">The assistant (widget) id.</param>
/// <param name="GuestId">The guest's id.</param>
public sealed record GuestCredentials(long AssistantId, string GuestId) : HeraldCredentials
{
    internal override void Apply(List<KeyValuePair<string, string>> query, HttpRequestHeaders headers)
    {
        query.Add(new("assistant_id", AssistantId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        query.Add(new("guest_id", GuestId));
    }
}
