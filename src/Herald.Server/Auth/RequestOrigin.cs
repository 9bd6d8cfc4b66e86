using Herald.Protocol.Web;

namespace Herald.Server.Auth;

/// <summary>The origin a request names, as the widget's domain check reads it.</summary>
internal static class RequestOrigin
{
    /// <summary>
    /// Where a request says it comes from: its <c>Origin</c> when it sent one, else its <c>Referer</c>.
    /// <c>Sent</c> without an <c>Origin</c> means the request named a source that is not an http(s) origin
    /// (<c>null</c>, <c>chrome-extension://…</c>, <c>file://</c>, a path, garbage): never an allowed domain.
    /// The Referer stands in only when no Origin was sent at all, never for an Origin the browser did send.
    /// </summary>
    public static (bool Sent, WebOrigin? Origin) Read(HttpRequest request)
    {
        var origin = request.Headers.Origin;
        if (origin.Count > 0)
        {
            return (true, origin.Count == 1 ? WebOrigin.TryParse(origin.ToString()) : null);
        }

        var referer = request.Headers.Referer;
        return referer.Count > 0 ? (true, referer.Count == 1 ? WebOrigin.TryParseUrl(referer.ToString()) : null) : (false, null);
    }
}
