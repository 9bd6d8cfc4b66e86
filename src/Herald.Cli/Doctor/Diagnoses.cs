namespace Herald.Cli.Doctor;

/// <summary>
/// The likely causes and fixes the doctor names, in one place. Each comes from an outage written up in seed 000
/// (wrong SSE URL, buffering nginx, events on the wrong Redis channel) or seed 001 (WebSocket upgrade not proxied).
/// </summary>
internal static class Diagnoses
{
    public const double DeliveryTargetMs = 500;

    public static (string Cause, string Fix) WrongUrl(string what) => (
        $"wrong URL: you are talking to the frontend, not Herald ({what})",
        "Point the client (and this command) at Herald itself — seed 000's admin connected to localhost:3000 (the frontend)\n"
        + "instead of localhost:8000 (the backend). Behind a proxy, route /api/ and /ws/ to Herald (deploy/nginx.conf).");

    public static (string Cause, string Fix) Unreachable(string error) => (
        $"nothing answers at this address ({error})",
        "Check the URL and port, that Herald runs (systemctl status herald; journalctl -u herald) and that a firewall lets you in.");

    public static (string Cause, string Fix) NameNotResolved(string host, string error) => (
        $"the name '{host}' does not resolve to an address ({error})",
        "Check the host name's spelling and its DNS record (getent hosts NAME), or use the IP address.");

    public static (string Cause, string Fix) ExtraPath(string path, string root) => (
        $"the base URL has an extra path '{path}': Herald answers at {root}/, not under {path}",
        $"Use {root} as the base URL. If a proxy serves Herald under {path}, it must strip that prefix before passing requests on.");

    public static (string Cause, string Fix) BadGateway(int status) => (
        $"the proxy answered {status}: it cannot reach any Herald node",
        "Check the nginx upstream (upstream herald { server ...; }) against the ports the nodes listen on (--urls / ASPNETCORE_URLS),\n"
        + "and that the nodes run: curl http://NODE:PORT/api/sse/health on each.");

    public static (string Cause, string Fix) Redirect(int status, string? location) => (
        $"the server redirects ({status} to {location ?? "?"}); EventSource and WebSocket clients do not follow it the way you expect",
        "Use the final URL as the base (often https://), or stop redirecting /api/ and /ws/.");

    public static (string Cause, string Fix) Buffering(string observed) => (
        $"a buffering proxy (nginx proxy_buffering on?) is holding the stream: {observed}",
        "In the nginx location of the SSE endpoints set 'proxy_buffering off;' and 'proxy_cache off;', or let Herald's\n"
        + "'X-Accel-Buffering: no' header through (remove 'proxy_ignore_headers X-Accel-Buffering;'). Disable gzip for\n"
        + "text/event-stream. deploy/nginx.conf has a working configuration.");

    public static (string Cause, string Fix) Compressed(string encoding) => (
        $"the stream is compressed (Content-Encoding: {encoding}); compressors hold events until their buffer fills",
        "Turn compression off for text/event-stream in the proxy (nginx: gzip off; in the SSE location).");

    public static (string Cause, string Fix) NoUpgrade(int? status) => (
        $"proxy does not forward Upgrade/Connection headers — see seed 001 nginx location /ws/ (upgrade answered {(status is { } s ? s.ToString() : "without 101")})",
        "In nginx: location /ws/ { proxy_pass http://herald; proxy_http_version 1.1;\n"
        + "  proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\"; proxy_read_timeout 1h; }\n"
        + "(and the same for /ws and /proxy). deploy/nginx.conf has it.");

    public static (string Cause, string Fix) NotDelivered(long messageId, bool bufferingSeen) => bufferingSeen
        ? ($"message {messageId} was stored but is held back by the buffering proxy found above",
            "Fix the buffering (see sse-prelude) and run the doctor again.")
        : ($"message {messageId} was stored (201) but never arrived on the stream: events are published where this node does not\n"
            + "listen (seed 000 cause 4: wrong Redis channel, or nodes that do not share a backplane)",
            "Give every node the same Herald:Redis:Url and check that /api/sse/health says \"redis\":\"connected\" on each;\n"
            + "check the node's log: grep -E 'WIDGET→ADMIN|SSE Manager'.");

    public static (string Cause, string Fix) Slow(double ms) => (
        $"delivery took {ms:F0} ms, over the {DeliveryTargetMs:F0} ms target",
        "Look at herald_delivery_latency_milliseconds on /metrics and at the node's CPU; make sure no proxy buffers the stream.");

    public static (string Cause, string Fix) Duplicated(int times) => (
        $"one message arrived {times} times (seed 000's duplication: the event is published twice)",
        "Check that the backplane is not subscribed twice and that no second publisher relays the same events.");

    public static (string Cause, string Fix) WrongFormat(string observed) => (
        $"events arrive but not in Herald's format (seed 000 cause 2): {observed}",
        "Expect 'event: message' with data {\"type\":\"message:new\",\"message\":{...}} — another server may be answering this URL.");

    public static (string Cause, string Fix) Credentials(int status, string? detail) => (
        $"the credentials were refused ({status}{(detail is null ? "" : ": " + detail)})",
        status == 403
            ? "For a site token: is the --origin one of its domains (POST /api/validate-widget-token)? For a guest: does the\n"
              + "dialog belong to this guest_id? Issue a new token if the domains changed: POST /api/widgets."
            : "Log in again (POST /api/auth/login) for a fresh --token, or check --assistant-id/--guest-id.");

    public static (string Cause, string Fix) RedisDisconnected() => (
        "the Redis backplane is configured but disconnected: events from other nodes arrive late (caught up from the store)",
        "Check Herald:Redis:Url on this node, 'redis-cli -u URL ping' from the node's host, and the firewall between them.");

    public static (string Cause, string Fix) ShuttingDown() => (
        "this node is draining for shutdown (503 shutting_down)",
        "Wait for the restart to finish, or point the doctor at another node.");

    public static (string Cause, string Fix) CorsMissing(string origin, string? got) => (
        got is null
            ? $"no Access-Control-Allow-Origin for {origin}: browsers on that site cannot use the widget"
            : $"Access-Control-Allow-Origin is '{got}', not '{origin}'" + (got.Contains(',', StringComparison.Ordinal) ? " (several values: the proxy adds its own CORS headers)" : ""),
        got is not null && got.Contains(',', StringComparison.Ordinal)
            ? "Remove the proxy's add_header Access-Control-Allow-Origin: Herald answers CORS for widget requests itself."
            : $"Add the domain to the assistant (PUT /api/assistants/{{id}}/domains) or issue a widget token for it (POST /api/widgets\n"
              + "{\"assistant_id\":N,\"allowed_domains\":[\"" + new Uri(origin).Authority + "\"]}).");

    public static (string Cause, string Fix) TokenInvalid(string domain, string? reason) => (
        $"the widget token is not valid for {domain}: {reason ?? "unknown reason"}",
        reason switch
        {
            "domains changed" => "The assistant's domains were edited after this token was issued: issue a new token (POST /api/widgets).",
            "revoked" => "The token was revoked: issue a new one (POST /api/widgets) and update the site's snippet.",
            "domain not allowed" => "Add the domain to the token (rotate it with the domain: POST /api/widgets {\"assistant_id\":N,\"allowed_domains\":[...]}).",
            _ => "Copy the token again from POST /api/widgets (it is shown once) and check for truncation.",
        });
}
