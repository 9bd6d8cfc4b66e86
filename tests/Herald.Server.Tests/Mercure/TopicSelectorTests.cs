using Herald.Server.Mercure;

namespace Herald.Server.Tests.Mercure;

/// <summary>The three selector kinds against topics, as the draft and Mercure 0.x define them.</summary>
public sealed class TopicSelectorTests
{
    private const string Hub = "https://hub.example.com/.well-known/mercure";

    [Theory]
    [InlineData("https://example.com/books/1", "https://example.com/books/1", true)]
    [InlineData("https://example.com/books/1", "https://example.com/books/10", false)]
    [InlineData("https://example.com/books/1", "https://example.com/Books/1", false)]
    [InlineData("*", "anything at all", true)]
    public void Exact_ComparesByteForByte_StarMatchesAll(string pattern, string topic, bool expected) =>
        Assert.Equal(expected, TopicSelector.Parse(SelectorKind.Exact, pattern, Hub).Matches(topic, Hub));

    [Theory]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/42", true)]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/42/reviews", false)]
    [InlineData("https://example.com/books/{id}", "https://example.com/authors/42", false)]
    [InlineData("https://example.com/books/{id}.jsonld", "https://example.com/books/a%20b.jsonld", true)]
    [InlineData("https://example.com/{+path}", "https://example.com/a/b/c?x=1", true)]
    [InlineData("https://example.com/users{/id,sub}", "https://example.com/users/1/orders", true)]
    [InlineData("https://example.com/search{?q,page}", "https://example.com/search?q=a&page=2", true)]
    [InlineData("https://example.com/search{?q,page}", "https://example.com/search#q=a", false)]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/{id}", true)]
    [InlineData("plain-topic", "plain-topic", true)]
    public void UriTemplate_MatchesWhatSomeValuesExpandTo(string template, string topic, bool expected) =>
        Assert.Equal(expected, TopicSelector.Parse(SelectorKind.UriTemplate, template, Hub).Matches(topic, Hub));

    [Theory]
    [InlineData("https://example.net/foo/:random", "https://example.net/foo/abc123", true)]
    [InlineData("https://example.net/bar/:var", "https://example.net/foo/will-not-match", false)]
    [InlineData("https://example.net/foo/:id", "https://example.net/foo/a/b", false)]
    [InlineData("https://example.com/feed/:type(news|alerts)", "https://example.com/feed/news", true)]
    [InlineData("https://example.com/feed/:type(news|alerts)", "https://example.com/feed/sports", false)]
    [InlineData("https://example.com/items{/:tail}?", "https://example.com/items", true)]
    [InlineData("https://example.com/items{/:tail}?", "https://example.com/items/x", true)]
    [InlineData("https://example.com/users/:id/*", "https://example.com/users/42/books/1", true)]
    [InlineData("https://:tenant.example.com/x", "https://acme.example.com/x", true)]
    [InlineData("https://example.com/books/:id", "https://example.com/books/1?page=2", true)]
    [InlineData("/.well-known/mercure/subscriptions/:t", "https://hub.example.com/.well-known/mercure/subscriptions/a", true)]
    public void UrlPattern_MatchesAsUrlPatternDoes(string pattern, string topic, bool expected) =>
        Assert.Equal(expected, TopicSelector.Parse(SelectorKind.UrlPattern, pattern, Hub).Matches(topic, Hub));

    /// <summary>
    /// A node runs this for every Mercure subscriber and every update (MercureView.Accepts, on the dispatcher's
    /// thread): 10,000 subscribers at 1,000 updates/s is ten million calls a second, so it must not allocate.
    /// </summary>
    [Fact]
    public void AnyMatches_AllocatesNothing()
    {
        IReadOnlyList<TopicSelector> selectors =
        [
            TopicSelector.Parse(SelectorKind.UriTemplate, "https://example.com/books/1", Hub),
            TopicSelector.Parse(SelectorKind.Exact, "https://example.com/books/2", Hub),
        ];
        IReadOnlyList<string> topics = ["https://example.com/authors/1", "https://example.com/books/2"];
        Assert.True(TopicSelector.AnyMatches(selectors, topics, Hub));

        var matched = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            matched += TopicSelector.AnyMatches(selectors, topics, Hub) ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(100, matched);
    }

    [Theory]
    [InlineData(SelectorKind.UrlPattern, "https://example.com/:id(a")]
    [InlineData(SelectorKind.UrlPattern, "https://example.com/:id((a)\\1)")]
    [InlineData(SelectorKind.UriTemplate, "https://example.com/{id")]
    [InlineData(SelectorKind.UriTemplate, "https://example.com/{}")]
    public void Parse_RefusesMalformedOrBacktrackingPatterns(SelectorKind kind, string pattern) =>
        Assert.Throws<FormatException>(() => TopicSelector.Parse(kind, pattern, Hub));
}
