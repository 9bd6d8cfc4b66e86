using Herald.Protocol.Web;

namespace Herald.Protocol.Tests.Web;

/// <summary>The strict Origin grammar: what counts as an http(s) origin, and how it is echoed.</summary>
public sealed class WebOriginTests
{
    [Theory]
    [InlineData("https://shop.example.com", "https://shop.example.com", "shop.example.com")]
    [InlineData("HTTPS://Shop.Example.COM:443", "https://shop.example.com", "shop.example.com")]
    [InlineData("http://localhost:3000", "http://localhost:3000", "localhost:3000")]
    [InlineData("http://127.0.0.1:80", "http://127.0.0.1", "127.0.0.1")]
    [InlineData("http://[::1]:8000", "http://[::1]:8000", "[::1]:8000")]
    [InlineData("https://xn--shp-sna.example.com", "https://xn--shp-sna.example.com", "xn--shp-sna.example.com")]
    public void TryParse_AnHttpOrigin_IsNormalised(string header, string serialized, string domain)
    {
        var origin = WebOrigin.TryParse(header);
        Assert.NotNull(origin);
        Assert.Equal(serialized, origin.Serialized);
        Assert.Equal(domain, origin.Domain);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("*")]
    [InlineData("file://")]
    [InlineData("chrome-extension://abcdefghijklmnop")]
    [InlineData("ws://shop.example.com")]
    [InlineData("https://")]
    [InlineData("https://shop.example.com/")]
    [InlineData("https://shop.example.com/\u00e9")]
    [InlineData("https://shop.example.com\u0001")]
    [InlineData("https://sh\u00f6p.example.com")]
    [InlineData("https://shop.example.com ")]
    [InlineData("https://user@shop.example.com")]
    [InlineData("https://shop.example.com:0")]
    [InlineData("https://shop.example.com:65536")]
    [InlineData("https://shop.example.com:+80")]
    [InlineData("https://shop.example.com:")]
    [InlineData("https://-shop.example.com")]
    [InlineData("https://shop..example.com")]
    [InlineData("https://[::1")]
    [InlineData("https://[zz::1]")]
    [InlineData("https://[::1]x")]
    [InlineData("https://shop.example.com?x")]
    [InlineData("https://shop.example.com#x")]
    public void TryParse_AnythingElse_IsNotAnOrigin(string header) => Assert.Null(WebOrigin.TryParse(header));

    [Theory]
    [InlineData("https://shop.example.com/page?q=1#top", "https://shop.example.com")]
    [InlineData("http://localhost:3000/", "http://localhost:3000")]
    public void TryParseUrl_AReferer_GivesItsOrigin(string referer, string serialized) =>
        Assert.Equal(serialized, WebOrigin.TryParseUrl(referer)?.Serialized);

    [Theory]
    [InlineData("https://shop.example.com/\u00e9")]
    [InlineData("android-app://com.example/")]
    [InlineData("about:blank")]
    public void TryParseUrl_ANonAsciiOrNonWebReferer_IsNotAnOrigin(string referer) => Assert.Null(WebOrigin.TryParseUrl(referer));
}
