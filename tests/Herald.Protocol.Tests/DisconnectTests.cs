using System.Reflection;

namespace Herald.Protocol.Tests;

public sealed class DisconnectTests
{
    public static TheoryData<string> Members()
    {
        var data = new TheoryData<string>();
        foreach (var field in StaticMembers())
        {
            data.Add(field.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Members))]
    public void Member_CodeSitsInTheRangeItsReconnectSays(string name)
    {
        var disconnect = Member(name);
        Assert.Equal(disconnect.Reconnect, Disconnect.Reconnects(disconnect.Code));
        Assert.InRange(disconnect.Code, 1000, 4999);
        // RFC 6455: 1004-1006 and 1015 are reserved and must never be sent in a close frame.
        Assert.DoesNotContain(disconnect.Code, new[] { 1004, 1005, 1006, 1015 });
    }

    [Theory]
    [MemberData(nameof(Members))]
    public void Member_IsListedAndFoundByItsCodeAndReason(string name)
    {
        var disconnect = Member(name);
        Assert.Contains(disconnect, Disconnect.All);
        Assert.Same(disconnect, Disconnect.FromCode(disconnect.Code));
        Assert.Same(disconnect, Disconnect.FromReason(disconnect.Reason));
        Assert.Matches("^[a-z]+(_[a-z]+)*$", disconnect.Reason);
        Assert.False(string.IsNullOrWhiteSpace(disconnect.Meaning));
        // A close reason is at most 123 bytes; the snake_case reason leaves room for ": detail".
        Assert.True(disconnect.Reason.Length <= 40);
    }

    [Fact]
    public void All_HasEveryMemberOnceWithUniqueCodesAndReasons()
    {
        Assert.Equal(StaticMembers().Length, Disconnect.All.Count);
        Assert.Equal(Disconnect.All.Count, Disconnect.All.Select(d => d.Code).Distinct().Count());
        Assert.Equal(Disconnect.All.Count, Disconnect.All.Select(d => d.Reason).Distinct().Count());
        Assert.Equal(Disconnect.All.OrderBy(d => d.Code), Disconnect.All);
    }

    [Theory]
    [InlineData(1000, true)]
    [InlineData(1006, true)]
    [InlineData(3999, true)]
    [InlineData(4000, false)]
    [InlineData(4029, false)]
    [InlineData(4499, false)]
    [InlineData(4500, true)]
    [InlineData(4999, true)]
    public void Reconnects_FollowsTheDocumentedRanges(int code, bool reconnect) =>
        Assert.Equal(reconnect, Disconnect.Reconnects(code));

    [Fact]
    public void TransientRefusals_AreInTheReconnectRange()
    {
        // A full node or a client at its per-address limit only has to wait; a code in 4000-4499 stopped clients for good.
        Assert.True(Disconnect.TooManyConnections.Reconnect);
        Assert.True(Disconnect.Reconnects(Disconnect.ForRefusal(503, ErrorCodes.TooManyConnections).Code));
        Assert.True(Disconnect.Reconnects(Disconnect.ForRefusal(429, ErrorCodes.RateLimited).Code));
        Assert.Same(Disconnect.ShuttingDown, Disconnect.ForRefusal(503, ErrorCodes.ShuttingDown));
    }

    [Theory]
    [InlineData(400, ErrorCodes.InvalidField, 4000)]
    [InlineData(400, ErrorCodes.MissingField, 4000)]
    [InlineData(401, ErrorCodes.Unauthorized, 4001)]
    [InlineData(403, ErrorCodes.Forbidden, 4003)]
    [InlineData(404, ErrorCodes.NotFound, 4004)]
    [InlineData(503, ErrorCodes.TooManyConnections, 4529)]
    [InlineData(503, ErrorCodes.ShuttingDown, 1012)]
    public void ForRefusal_MapsTheHttpRefusalToItsCloseCode(int status, string error, int code) =>
        Assert.Equal(code, Disconnect.ForRefusal(status, error).Code);

    [Fact]
    public void Lookups_OfUnknownValues_AreNull()
    {
        Assert.Null(Disconnect.FromCode(4999));
        Assert.Null(Disconnect.FromReason("no_such_reason"));
        Assert.Null(Disconnect.FromReason(null));
    }

    [Fact]
    public void Reasons_SharedWithErrorBodies_AreTheSameStrings()
    {
        Assert.Equal(ErrorCodes.ShuttingDown, Disconnect.ShuttingDown.Reason);
        Assert.Equal(ErrorCodes.TooManyConnections, Disconnect.TooManyConnections.Reason);
        Assert.Equal(ErrorCodes.Unauthorized, Disconnect.Unauthorized.Reason);
        Assert.Equal(ErrorCodes.Forbidden, Disconnect.Forbidden.Reason);
    }

    private static FieldInfo[] StaticMembers() =>
        typeof(Disconnect).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.FieldType == typeof(Disconnect)).ToArray();

    private static Disconnect Member(string name) => (Disconnect)typeof(Disconnect).GetField(name)!.GetValue(null)!;
}
