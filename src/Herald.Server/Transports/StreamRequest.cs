using Herald.Server.Hub;

namespace Herald.Server.Transports;

/// <summary>What a stream subscribes to and where it resumes from.</summary>
/// <param name="Topics">The topics; events of all of them arrive on one stream in id order.</param>
/// <param name="ResumeAfter">Last-Event-ID, if the client sent one.</param>
/// <param name="Label">For logs: e.g. <c>dialog 42</c>.</param>
/// <param name="Principal">Who opened it; a credential that expires binds the stream (see <see cref="StreamHost.Lease"/>).</param>
/// <param name="View">What the stream takes of its topics and how it frames it (Mercure), or null for all of it as Herald frames it.</param>
public sealed record StreamRequest(IReadOnlyList<string> Topics, long? ResumeAfter, string Label, Auth.Principal Principal, Pipeline.EventView? View = null);
