namespace Herald.Bench.Targets;

/// <summary>The channels a scenario asks for: <c>{Prefix}-{i}</c> for i below <c>Count</c>.</summary>
/// <param name="Publishers">Keep-alive HTTP/1.1 connections to publish over.</param>
/// <param name="Padding">Extra payload per published message (S2's message size), after the marker.</param>
internal sealed record ChannelSpec(string Prefix, int Count, ChannelKind Kind, int Publishers, string Padding = "");
