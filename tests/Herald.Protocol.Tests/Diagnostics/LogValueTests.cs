using Herald.Protocol.Diagnostics;

namespace Herald.Protocol.Tests.Diagnostics;

public sealed class LogValueTests
{
    [Theory]
    [InlineData("a\r\nb", @"a\u000D\u000Ab")]
    [InlineData("tab\there", @"tab\u0009here")]
    [InlineData("\u001b[31mred\u001b[0m", @"\u001B[31mred\u001B[0m")]
    [InlineData("nul\0", @"nul\u0000")]
    [InlineData("del\u007F", @"del\u007F")]
    [InlineData("nel\u0085csi\u009b", @"nel\u0085csi\u009B")]
    [InlineData("ls\u2028ps\u2029", @"ls\u2028ps\u2029")]
    [InlineData("rtl\u202Eltr\u202Diso\u2066zw\u200Bbom\uFEFFshy\u00AD", @"rtl\u202Eltr\u202Diso\u2066zw\u200Bbom\uFEFFshy\u00AD")]
    public void Sanitize_ControlAndFormatCharacters_AreEscapedVisibly(string value, string expected) =>
        Assert.Equal(expected, LogValue.Sanitize(value));

    // Not theory data: xUnit's serialisation of test cases turns a lone surrogate into U+FFFD.
    [Fact]
    public void Sanitize_LoneSurrogates_AreEscapedVisibly()
    {
        Assert.Equal(@"lone \uD800 high", LogValue.Sanitize("lone \ud800 high"));
        Assert.Equal(@"lone \uDC00 low", LogValue.Sanitize("lone \udc00 low"));
        Assert.Equal(@"end \uD83D", LogValue.Sanitize("end \ud83d"));
        Assert.Equal(@"swapped \uDE00\uD83D", LogValue.Sanitize("swapped \ude00\ud83d"));
    }

    [Theory]
    [InlineData("dialog 42 (guest)")]
    [InlineData("Тестовое сообщение é ü 中文")]
    [InlineData("emoji \ud83d\ude00 pair")]
    [InlineData("back\\slash \"quoted\" {json}")]
    [InlineData("")]
    public void Sanitize_PrintableText_IsReturnedAsIs(string value) =>
        Assert.Same(value, LogValue.Sanitize(value));

    [Fact]
    public void Sanitize_Null_IsEmpty() => Assert.Equal("", LogValue.Sanitize(null));

    [Fact]
    public void Sanitize_LongValue_IsCutAndSaysHowMuchWasLeftOut()
    {
        var value = new string('a', LogValue.MaxLength + 10);
        Assert.Equal(new string('a', LogValue.MaxLength) + "...(10 more characters)", LogValue.Sanitize(value));
    }

    [Fact]
    public void Sanitize_Cut_CountsTheInputNotTheEscapes()
    {
        var value = new string('\u001b', 10);
        Assert.Equal(string.Concat(Enumerable.Repeat(@"\u001B", 4)) + "...(6 more characters)", LogValue.Sanitize(value, maxLength: 4));
    }

    [Fact]
    public void Sanitize_Cut_NeverSplitsASurrogatePair()
    {
        var value = "ab\ud83d\ude00cd";
        Assert.Equal("ab...(4 more characters)", LogValue.Sanitize(value, maxLength: 3));
    }
}
