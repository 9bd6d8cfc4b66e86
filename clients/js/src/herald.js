/*!
 * herald.js — the browser (and Node) client for Herald. No dependencies, no build step.
 *
 * Load it either way:
 *   <script src="/herald.js"></script>                 → window.Herald
 *   <script type="module">import '/herald.js'; …</script> → globalThis.Herald
 *   import { Client } from './herald.mjs'              → named exports (a three-line wrapper)
 * The file therefore contains no `export` statement (a classic script cannot parse one); it is valid both
 * as a classic script and as a module and publishes itself on globalThis.
 *
 * What it does (docs/clients.md has the full API):
 *   - SSE by default, read with fetch() + ReadableStream and parsed here rather than with EventSource, because
 *     the client must see what EventSource hides: the `retry:` field and `: heartbeat` comments (to detect a
 *     buffering proxy), the HTTP status (401/403 must stop, not retry forever), and it must own reconnection
 *     (EventSource reconnects on its own schedule, which fights the fallback to long polling);
 *   - WebSocket on request, long polling when the stream transports fail, and back when they recover;
 *   - one position (the highest event id seen) shared by every transport, so switching neither loses nor
 *     repeats an event;
 *   - one connection for all tabs of an origin (Web Locks elect a leader, BroadcastChannel fans out).
 */
(function (root) {
  'use strict';

  const VERSION = '0.1.0';

  const DEFAULTS = {
    transport: 'auto', // 'auto' (SSE, then long polling) | 'sse' | 'websocket' | 'poll'
    retryDelay: 1000, // ms, the backoff base until the server sends `retry:`
    maxRetryDelay: 30000,
    fallbackAfter: 2, // consecutive stream failures before switching to long polling
    probeInterval: 30000, // ms between attempts to get back to the stream while polling
    bufferingTimeout: 5000, // ms for `retry:` or a heartbeat to arrive before the path counts as buffered
    pollTimeout: 25, // s the server may hold a poll (max 30)
    pingInterval: 25000, // ms between WebSocket `__ping__`s
    pingTimeout: 10000, // ms without any frame after a ping before the socket counts as dead
    share: true, // share one connection between the tabs of this origin
    handoverWait: 150, // ms a new leader waits for the other tabs to report their last event id
  };

  // ---------------------------------------------------------------------------------------------------------
  // Small event emitter. Handler errors must not break the connection logic, but must not vanish either:
  // they are rethrown asynchronously, where the console (or Node's uncaught-exception handler) reports them.
  // ---------------------------------------------------------------------------------------------------------
  class Emitter {
    constructor() {
      this._handlers = new Map();
    }

    /** Adds a handler; returns a function that removes it. */
    on(name, fn) {
      if (typeof fn !== 'function') throw new TypeError('handler must be a function');
      let set = this._handlers.get(name);
      if (!set) this._handlers.set(name, (set = new Set()));
      set.add(fn);
      return () => this.off(name, fn);
    }

    off(name, fn) {
      const set = this._handlers.get(name);
      if (set) set.delete(fn);
    }

    once(name, fn) {
      const off = this.on(name, (...args) => {
        off();
        fn(...args);
      });
      return off;
    }

    _emit(name, arg) {
      const set = this._handlers.get(name);
      if (!set) return;
      for (const fn of [...set]) {
        try {
          fn(arg);
        } catch (err) {
          setTimeout(() => {
            throw err;
          }, 0);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // SSE parser (WHATWG HTML, "9.2.6 Interpreting an event stream"), fed text in arbitrary chunks.
  // ---------------------------------------------------------------------------------------------------------
  class SseParser {
    /**
     * @param {{onEvent?: (e: {id: string|null, event: string, data: string}) => void,
     *          onRetry?: (ms: number) => void, onComment?: (text: string) => void}} handlers
     */
    constructor(handlers = {}) {
      this._h = handlers;
      this._buffer = '';
      this._first = true;
      this._pendingCR = false;
      this._data = '';
      this._hasData = false;
      this._event = '';
      this._id = null;
      // The spec's "last event ID buffer" persists across events; kept for callers that want it, but each
      // dispatched event reports only the id set in its own block (an ephemeral event must not inherit one).
      this.lastEventId = '';
    }

    /** Feeds decoded text. */
    feed(text) {
      if (this._first && text.length > 0) {
        this._first = false;
        // "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM), if any."
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      let start = 0;
      if (this._pendingCR) {
        this._pendingCR = false;
        // A CR ended the previous chunk: a LF right after it belongs to the same line break.
        if (text.charCodeAt(0) === 10) start = 1;
      }
      let i = start;
      const n = text.length;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 10 || c === 13) {
          // "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character
          // pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE RETURN (CR) character."
          this._line(this._buffer + text.slice(start, i));
          this._buffer = '';
          if (c === 13) {
            if (i + 1 < n) {
              if (text.charCodeAt(i + 1) === 10) i++;
            } else {
              this._pendingCR = true;
            }
          }
          start = i + 1;
        }
        i++;
      }
      if (start < n) this._buffer += text.slice(start);
    }

    _line(line) {
      if (line.length === 0) {
        this._dispatch();
        return;
      }
      if (line.charCodeAt(0) === 58 /* : */) {
        if (this._h.onComment) this._h.onComment(line.slice(1).replace(/^ /, ''));
        return;
      }
      const colon = line.indexOf(':');
      let field;
      let value;
      if (colon === -1) {
        field = line;
        value = '';
      } else {
        field = line.slice(0, colon);
        value = line.slice(colon + 1);
        // "If value starts with a U+0020 SPACE character, remove it from value."
        if (value.charCodeAt(0) === 32) value = value.slice(1);
      }
      switch (field) {
        case 'data':
          this._data += value + '\n';
          this._hasData = true;
          break;
        case 'event':
          this._event = value;
          break;
        case 'id':
          // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to the field value."
          if (value.indexOf('\0') === -1) {
            this._id = value;
            this.lastEventId = value;
          }
          break;
        case 'retry':
          // "If the field value consists of only ASCII digits, then interpret the field value as an integer in
          // base ten, and set the event stream's reconnection time to that integer."
          if (/^[0-9]+$/.test(value) && this._h.onRetry) this._h.onRetry(parseInt(value, 10));
          break;
        default:
          // "Otherwise: the field is ignored."
          break;
      }
    }

    _dispatch() {
      const hasData = this._hasData;
      const data = this._data;
      const event = this._event;
      const id = this._id;
      this._data = '';
      this._hasData = false;
      this._event = '';
      this._id = null;
      // "If the data buffer is an empty string, set the data buffer and the event type buffer to the empty
      // string and return."
      if (!hasData) return;
      if (this._h.onEvent) {
        // "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove [it]."
        this._h.onEvent({ id, event: event || 'message', data: data.slice(0, -1) });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Close codes: the range says whether to reconnect (docs/protocol.md, "Close codes"; Herald.Protocol's
  // Disconnect.Reconnects is the same rule). 4000-4499: not without a change (a new credential, a fixed request);
  // everything else (RFC 6455 codes, 4500-4999 transient, e.g. 4529 connection limit) reconnects with the last
  // event id.
  // ---------------------------------------------------------------------------------------------------------
  function closeReconnects(code) {
    return !(code >= 4000 && code <= 4499);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Backoff: the first retry waits exactly the base (the server's `retry:` is already jittered per
  // connection); later ones grow exponentially up to max, with "equal jitter" (half fixed, half random) so that
  // clients that failed together do not come back together, and never less than the base.
  // ---------------------------------------------------------------------------------------------------------
  function backoffDelay(attempt, base, max, random = Math.random) {
    const b = Math.max(0, base);
    if (attempt <= 0) return Math.min(b, max);
    const ceiling = Math.min(max, b * Math.pow(2, attempt));
    return Math.max(Math.min(b, max), Math.round(ceiling / 2 + random() * (ceiling / 2)));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Position and dedupe. Ids are global and increase in delivery order, so "the highest id seen" is a complete
  // description of what the client has: anything at or below it is a repeat (e.g. the same event arriving from
  // the poll and from the SSE probe during a switch) and is dropped.
  // ---------------------------------------------------------------------------------------------------------
  class EventTracker {
    constructor(lastEventId = null) {
      this.lastEventId = lastEventId == null ? null : Number(lastEventId);
      this.duplicates = 0;
    }

    /** Moves the position forward without an event (a poll's head, a hand-over from another tab). */
    advance(id) {
      if (id == null || !Number.isFinite(Number(id))) return;
      id = Number(id);
      if (this.lastEventId == null || id > this.lastEventId) this.lastEventId = id;
    }

    /** True when the event is new and must be delivered; updates the position. */
    accept(evt) {
      if (evt.event === 'reset') {
        // A reset moves the position to the server's head, which can be *below* ours (a restored or replaced
        // database). Two transports opened from the same stale position each report it: the second one, naming
        // the position we already moved to, is a repeat.
        if (evt.id != null && evt.id === this.lastEventId && this._lastWasReset) return false;
        this.lastEventId = evt.id;
        this._lastWasReset = true;
        return true;
      }
      if (evt.id == null) return true; // ephemeral (typing): no id, never replayed, never a repeat
      if (this.lastEventId != null && evt.id <= this.lastEventId) {
        this.duplicates++;
        return false;
      }
      this.lastEventId = evt.id;
      this._lastWasReset = false;
      return true;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Normalising what each transport delivers into one shape: {id, event, type, topic, data}.
  // ---------------------------------------------------------------------------------------------------------
  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  function makeEvent(id, event, topic, data) {
    const type = data && typeof data === 'object' && typeof data.type === 'string' ? data.type : event;
    return { id: id == null || id === '' ? null : Number(id), event: event || 'message', type, topic: topic || null, data };
  }

  function fromSse(frame) {
    return makeEvent(frame.id, frame.event, null, parseJson(frame.data));
  }

  function fromPoll(item) {
    return makeEvent(item.id, item.event, item.topic, item.data);
  }

  /** A WebSocket frame is the SSE data object with `event_id` (and `event` unless it is "message") in front. */
  function fromWebSocket(obj) {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return makeEvent(null, 'message', null, obj);
    const { event_id: id, event, ...rest } = obj;
    const keys = Object.keys(rest);
    // Non-object payloads travel wrapped as {"event_id":..,"event":..,"data":<value>}.
    const data = keys.length === 1 && keys[0] === 'data' && (rest.data === null || typeof rest.data !== 'object') ? rest.data : rest;
    return makeEvent(id, event, null, data);
  }

  // ---------------------------------------------------------------------------------------------------------
  // URLs for each transport. Guests and site widgets authenticate with query parameters (no CORS preflight);
  // operators with a Bearer header on fetch() and ?token= where no header can be set (WebSocket).
  // ---------------------------------------------------------------------------------------------------------
  class Endpoints {
    constructor(o) {
      this.base = String(o.baseUrl || (root.location ? root.location.origin : '')).replace(/\/+$/, '');
      if (!this.base) throw new Error('Herald.Client: baseUrl is required outside a browser page');
      this.auth = o.auth || {};
      this.dialogId = o.dialogId;
      this.topics = o.topics ? [].concat(o.topics) : null;
      this.admin = !!o.admin;
      if (this.dialogId == null && !this.topics && !this.admin) throw new Error('Herald.Client: give dialogId, topics or admin: true');
    }

    _query(params, tokenInQuery) {
      const q = new URLSearchParams();
      const a = this.auth;
      if (a.assistantId != null) {
        q.set('assistant_id', String(a.assistantId));
        q.set('guest_id', String(a.guestId));
      } else if (a.siteToken != null) {
        q.set('site_token', a.siteToken);
      } else if (a.token != null && tokenInQuery) {
        q.set('token', a.token);
      }
      if (this.topics) for (const t of this.topics) q.append('topic', t);
      for (const [k, v] of Object.entries(params)) if (v != null) q.set(k, String(v));
      const s = q.toString();
      return s ? '?' + s : '';
    }

    headers() {
      return this.auth.token != null ? { Authorization: 'Bearer ' + this.auth.token } : {};
    }

    sse(lastEventId) {
      const path = this.admin ? '/api/events/admin' : this.topics ? '/api/events' : `/api/dialogs/${this.dialogId}/events`;
      return this.base + path + this._query({ last_event_id: lastEventId }, false);
    }

    poll(afterId, timeout) {
      if (this.admin) return this.base + '/api/poll' + this._query({ topic: 'dialogs', after_id: afterId, timeout }, false);
      const path = this.topics ? '/api/poll' : `/api/dialogs/${this.dialogId}/poll`;
      return this.base + path + this._query({ after_id: afterId, timeout }, false);
    }

    webSocket(lastEventId) {
      if (this.admin) return null; // /ws is the operator socket with its own protocol
      const ws = this.base.replace(/^http/, 'ws');
      // Topics (an operator's or an app user's token): the topic socket, token in the query as no header can be set.
      if (this.topics) return ws + '/ws/topics' + this._query({ last_event_id: lastEventId }, true);
      const a = this.auth;
      const kind = a.assistantId != null ? '/ws/widget/dialogs/' : a.siteToken != null ? '/ws/site/dialogs/' : '/ws/dialogs/';
      return ws + kind + this.dialogId + this._query({ last_event_id: lastEventId }, true);
    }
  }

  async function readError(res) {
    let body = null;
    try {
      body = await res.json();
    } catch {
      // not JSON: a proxy's error page
    }
    const retryAfter = Number(res.headers.get('Retry-After'));
    // 4xx other than 408 (timeout) and 429 (rate limit) will not heal by retrying: the credential or request
    // must change. Everything else (5xx, 408, 429) is transient.
    const fatal = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
    return {
      status: res.status,
      fatal,
      retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null,
      error: body && body.error ? body.error : 'http_' + res.status,
      detail: body && body.detail ? body.detail : null,
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Transports. Each reports to its sink: open(t), event(t, evt), retry(t, ms), position(t, id), close(t, info)
  // with close called at most once and never after stop(). They only move bytes; the Engine decides.
  // ---------------------------------------------------------------------------------------------------------
  class SseTransport {
    constructor(engine, sink, role) {
      this.kind = 'sse';
      this.role = role;
      this._e = engine;
      this._sink = sink;
      this._done = false;
      this.opened = false;
      this._ctrl = new AbortController();
    }

    start(position) {
      const e = this._e;
      this._timer = setTimeout(() => this._finish({ buffered: true, error: 'no retry or heartbeat within ' + e.o.bufferingTimeout + ' ms' }), e.o.bufferingTimeout);
      this._run(e.endpoints.sse(position)).catch((err) => this._finish({ error: String((err && err.message) || err) }));
    }

    async _run(url) {
      const res = await this._e.fetch(url, {
        headers: { Accept: 'text/event-stream', ...this._e.endpoints.headers() },
        cache: 'no-store',
        signal: this._ctrl.signal,
      });
      if (this._done) return;
      if (!res.ok) {
        this._finish(await readError(res));
        return;
      }
      const type = res.headers.get('Content-Type') || '';
      if (!/^text\/event-stream/i.test(type) || !res.body) {
        // A captive portal or a proxy's HTML page, or a runtime without streaming bodies.
        this._finish({ error: 'not an event stream: ' + (type || 'no body'), noStream: !res.body });
        return;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser({
        onRetry: (ms) => {
          this._alive();
          this._sink.retry(this, ms);
        },
        onComment: () => this._alive(),
        onEvent: (frame) => {
          this._alive();
          this._sink.event(this, fromSse(frame));
        },
      });
      for (;;) {
        const { value, done } = await reader.read();
        if (this._done) return;
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
      this._finish({ ended: true, error: 'the server ended the stream' });
    }

    _alive() {
      if (this.opened || this._done) return;
      this.opened = true;
      clearTimeout(this._timer);
      this._sink.open(this);
    }

    _finish(info) {
      if (this._done) return;
      this.stop();
      this._sink.close(this, info);
    }

    stop() {
      this._done = true;
      clearTimeout(this._timer);
      try {
        this._ctrl.abort();
      } catch {
        // already aborted
      }
    }
  }

  class PollTransport {
    constructor(engine, sink, role) {
      this.kind = 'poll';
      this.role = role;
      this._e = engine;
      this._sink = sink;
      this._done = false;
      this.opened = false;
      this._ctrl = null;
    }

    start() {
      this._loop().catch((err) => this._finish({ error: String((err && err.message) || err) }));
    }

    async _loop() {
      const e = this._e;
      while (!this._done) {
        // The position is read fresh for every request: during a switch another transport may have moved it.
        const after = e.tracker.lastEventId;
        // The first request does not wait: it proves the path works (state 'open') and catches up at once.
        const timeout = after == null || !this.opened ? 0 : e.o.pollTimeout;
        this._ctrl = new AbortController();
        // A poll that outlives the server's own timeout by 15 s is hung somewhere on the path.
        const guard = setTimeout(() => this._ctrl.abort(), timeout * 1000 + 15000);
        let res;
        try {
          res = await e.fetch(e.endpoints.poll(after, timeout), { headers: e.endpoints.headers(), cache: 'no-store', signal: this._ctrl.signal });
        } finally {
          clearTimeout(guard);
        }
        if (this._done) return;
        if (!res.ok) {
          this._finish(await readError(res));
          return;
        }
        const body = await res.json();
        if (this._done) return;
        if (!this.opened) {
          this.opened = true;
          this._sink.open(this);
        }
        for (const item of body.events || []) this._sink.event(this, fromPoll(item));
        this._sink.position(this, body.last_event_id);
      }
    }

    _finish(info) {
      if (this._done) return;
      this.stop();
      this._sink.close(this, info);
    }

    stop() {
      this._done = true;
      if (this._ctrl) {
        try {
          this._ctrl.abort();
        } catch {
          // already aborted
        }
      }
    }
  }

  class WebSocketTransport {
    constructor(engine, sink, role) {
      this.kind = 'websocket';
      this.role = role;
      this._e = engine;
      this._sink = sink;
      this._done = false;
      this.opened = false;
    }

    start(position) {
      const e = this._e;
      const WS = e.o.WebSocket || root.WebSocket;
      const url = e.endpoints.webSocket(position);
      if (!WS || !url) {
        // Nothing to connect to: count as a failure so the engine falls back.
        setTimeout(() => this._finish({ error: WS ? 'no WebSocket endpoint for the operators\' feed' : 'WebSocket is not available', unsupported: true }), 0);
        return;
      }
      let ws;
      try {
        ws = this._ws = new WS(url);
      } catch (err) {
        setTimeout(() => this._finish({ error: String(err.message || err) }), 0);
        return;
      }
      // Opening a socket through a proxy that drops Upgrade can hang; give it the buffering window.
      this._openTimer = setTimeout(() => this._finish({ error: 'WebSocket did not open in time', buffered: true }), e.o.bufferingTimeout);
      ws.onopen = () => {
        if (this._done) return;
        clearTimeout(this._openTimer);
        this.opened = true;
        this._sink.open(this);
        this._schedulePing();
      };
      ws.onmessage = (m) => {
        if (this._done) return;
        this._lastFrame = Date.now();
        clearTimeout(this._pongTimer);
        const text = typeof m.data === 'string' ? m.data : String(m.data);
        if (text === '__pong__') return;
        this._sink.event(this, fromWebSocket(parseJson(text)));
      };
      ws.onclose = (c) => {
        const code = c.code;
        const fatal = !closeReconnects(code);
        this._finish({ code, reason: c.reason || '', fatal, error: 'WebSocket closed: ' + code + (c.reason ? ' ' + c.reason : '') });
      };
      ws.onerror = () => {
        // onclose follows with the code; nothing to do here.
      };
    }

    send(text) {
      try {
        if (this._ws && !this._done) this._ws.send(text);
      } catch {
        // closing; onclose reports it
      }
    }

    _schedulePing() {
      const o = this._e.o;
      this._pingTimer = setTimeout(() => {
        if (this._done) return;
        try {
          this._ws.send('__ping__');
        } catch {
          // closing; onclose reports it
        }
        this._pongTimer = setTimeout(() => {
          try {
            this._ws.close(4000 + 509, 'ping timeout');
          } catch {
            // ignore
          }
          this._finish({ error: 'no pong within ' + o.pingTimeout + ' ms' });
        }, o.pingTimeout);
        this._schedulePing();
      }, o.pingInterval);
    }

    _finish(info) {
      if (this._done) return;
      this.stop();
      this._sink.close(this, info);
    }

    stop() {
      this._done = true;
      clearTimeout(this._openTimer);
      clearTimeout(this._pingTimer);
      clearTimeout(this._pongTimer);
      if (this._ws) {
        const ws = this._ws;
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close(1000);
        } catch {
          // never opened
        }
      }
    }
  }

  const TRANSPORTS = { sse: SseTransport, poll: PollTransport, websocket: WebSocketTransport };

  // ---------------------------------------------------------------------------------------------------------
  // Engine: one logical subscription over whichever transport works. It is what the leader tab runs.
  //
  //   stream (SSE or WebSocket) ──fails `fallbackAfter` times in a row, or looks buffered──▶ long polling
  //   long polling ──a probe stream opens (retry:/heartbeat seen, or socket open)──▶ stream
  //
  // While a probe runs, poll and probe both deliver; the tracker drops whatever arrives twice.
  // ---------------------------------------------------------------------------------------------------------
  class Engine {
    constructor(o, tracker, out) {
      this.o = o;
      this.tracker = tracker;
      this.out = out; // {event(evt), state(state, transport), error(info)}
      this.endpoints = new Endpoints(o);
      this.fetch = o.fetch || root.fetch.bind(root);
      this.stream = o.transport === 'websocket' ? 'websocket' : o.transport === 'poll' ? null : 'sse';
      this.mode = this.stream ? 'stream' : 'poll';
      this.failures = 0;
      this.serverRetry = null;
      this.active = null;
      this.probe = null;
      this.everOpened = false;
      this.stopped = true;
      this.switches = [];
      this._timers = new Set();
      this._onOnline = () => this._wake();
      this._onOffline = () => this._setState('offline');
    }

    start() {
      this.stopped = false;
      if (root.addEventListener) {
        root.addEventListener('online', this._onOnline);
        root.addEventListener('offline', this._onOffline);
      }
      this._setState('connecting');
      this._connect();
    }

    stop() {
      this.stopped = true;
      for (const t of this._timers) clearTimeout(t);
      this._timers.clear();
      if (this.active) this.active.stop();
      if (this.probe) this.probe.stop();
      this.active = this.probe = null;
      if (root.removeEventListener) {
        root.removeEventListener('online', this._onOnline);
        root.removeEventListener('offline', this._onOffline);
      }
    }

    _later(ms, fn) {
      const t = setTimeout(() => {
        this._timers.delete(t);
        if (!this.stopped) fn();
      }, ms);
      this._timers.add(t);
      return t;
    }

    _cancel(t) {
      if (t) {
        clearTimeout(t);
        this._timers.delete(t);
      }
    }

    _setState(state) {
      const transport = this.active ? this.active.kind : this.mode === 'stream' ? this.stream : 'poll';
      if (state === this.state && transport === this.transport) return;
      this.state = state;
      this.transport = transport;
      this.out.state(state, transport);
    }

    async _resolvePosition() {
      // A stream opened without a position starts "from now" and cannot tell us where now is; if it then
      // breaks before the first event, nothing says what was missed. The poll endpoint without after_id returns
      // the head without waiting, so every connection starts from a position it can resume.
      if (this.tracker.lastEventId != null || this._noHead) return;
      try {
        const ctrl = new AbortController();
        const guard = setTimeout(() => ctrl.abort(), 5000);
        const res = await this.fetch(this.endpoints.poll(null, 0), { headers: this.endpoints.headers(), cache: 'no-store', signal: ctrl.signal });
        clearTimeout(guard);
        if (res.status === 404 || res.status === 405) this._noHead = true; // an older server without long polling
        if (res.ok) {
          const body = await res.json();
          if (this.tracker.lastEventId == null) this.tracker.advance(body.last_event_id);
        }
      } catch {
        // unreachable now; the transport will fail and retry
      }
    }

    async _connect() {
      this._reconnectTimer = null;
      if (this.stopped || this.active) return;
      if (this.mode === 'stream') await this._resolvePosition();
      if (this.stopped || this.active) return;
      this.active = this._open(this.mode === 'stream' ? this.stream : 'poll', 'active');
    }

    _open(kind, role) {
      const t = new TRANSPORTS[kind](this, this._sinkFor(), role);
      t.start(this.tracker.lastEventId);
      return t;
    }

    _sinkFor() {
      return {
        open: (t) => this._opened(t),
        event: (t, evt) => {
          if (t !== this.active && t !== this.probe) return;
          evt.transport = t.kind;
          if (evt.event === 'auth-expiring') {
            // Until a refresh succeeds, the end of this stream is the token's expiry, not a network failure.
            t.authExpiring = true;
            this._refreshAuth(t, evt.data);
          }
          this.out.event(evt);
        },
        retry: (t, ms) => {
          this.serverRetry = ms;
        },
        position: (t, id) => {
          if (t === this.active || t === this.probe) this.tracker.advance(id);
        },
        close: (t, info) => this._closed(t, info),
      };
    }

    _opened(t) {
      if (t === this.probe) {
        // The stream is back: it takes over, the poll stops. Overlapping deliveries were deduped by id.
        this.probe = null;
        if (this.active) this.active.stop();
        this.active = t;
        this.mode = 'stream';
        this._cancel(this._probeTimer);
        this._switched(t.kind);
      } else if (t !== this.active) {
        return;
      }
      this.failures = 0;
      this._authRetried = false;
      this.everOpened = true;
      this._setState('open');
    }

    _closed(t, info) {
      if (this.stopped) return;
      if (t === this.probe) {
        this.probe = null;
        this._scheduleProbe();
        return;
      }
      if (t !== this.active) return;
      this.active = null;
      if (t.authExpiring && !info.fatal) {
        // The server ended the stream at the token's expiry. (It may still accept the expired token for its
        // clock-skew allowance; reconnecting with it would only be cut again.)
        info = { ...info, fatal: true, status: 401, error: 'auth_expired' };
      }
      const unauthorized = info.status === 401 || info.code === 4001 || info.code === 4010;
      if (info.fatal && unauthorized && this._canRefresh() && !this._authRetried) {
        // The token expired (or was replaced): get a fresh one once and reconnect at once; a second 401 is final.
        this._authRetried = true;
        this.out.error({ ...info, transport: t.kind, fatal: false });
        this._setState('reconnecting');
        this._newToken().then(() => {
          if (!this.stopped && !this.active) this._connect();
        });
        return;
      }
      if (info.fatal) {
        this.out.error({ ...info, transport: t.kind });
        this._setState('closed');
        this.stop();
        return;
      }
      this.out.error({ ...info, transport: t.kind });
      if (t.kind !== 'poll') {
        this.failures++;
        const canFallBack = this.o.transport === 'auto' || this.o.transport === 'websocket';
        if (canFallBack && (info.buffered || info.unsupported || info.noStream || this.failures >= this.o.fallbackAfter)) {
          this._fallBack(info);
          return;
        }
      } else {
        this.failures++;
      }
      const delay = info.retryAfter || backoffDelay(this.failures - 1, this.serverRetry ?? this.o.retryDelay, this.o.maxRetryDelay);
      this._setState(root.navigator && root.navigator.onLine === false ? 'offline' : 'reconnecting');
      this._reconnectTimer = this._later(delay, () => this._connect());
    }

    /** Records a transport switch (for diagnostics and tests); only the recent ones are kept. */
    _switched(kind) {
      this.switches.push(kind);
      if (this.switches.length > 50) this.switches.splice(0, this.switches.length - 50);
    }

    _fallBack(info) {
      // Long polling goes over a different path (short requests), so it starts at once; the stream is retried
      // by probes in the background.
      this.mode = 'poll';
      this.failures = 0;
      this._switched('poll');
      this._setState('reconnecting');
      this.active = this._open('poll', 'active');
      this._noStreamForever = !!info.unsupported;
      this._scheduleProbe();
    }

    _scheduleProbe() {
      if (this._noStreamForever || this.mode !== 'poll' || !this.stream || this.o.transport === 'poll') return;
      this._cancel(this._probeTimer);
      const interval = this.o.probeInterval;
      this._probeTimer = this._later(Math.round(interval * (0.8 + Math.random() * 0.4)), () => {
        if (this.probe || this.mode !== 'poll') return;
        this.probe = this._open(this.stream, 'probe');
      });
    }

    _canRefresh() {
      return !!(this.o.auth && this.o.auth.token != null && typeof this.o.auth.refreshToken === 'function');
    }

    /** Asks the app for a fresh operator token; later requests and reconnects use it. */
    async _newToken() {
      try {
        const token = await this.o.auth.refreshToken();
        if (token) this.o.auth.token = token;
        return token || null;
      } catch (err) {
        this.out.error({ error: 'refreshToken failed: ' + ((err && err.message) || err), auth: true });
        return null;
      }
    }

    /**
     * `auth-expiring` arrives shortly before the operator token that authorised the stream expires. With a
     * refreshToken callback the stream is extended in place (no reconnect, nothing replayed): SSE posts the
     * fresh token to the connection's refresh URL, a WebSocket sends {"type":"auth"}. Without one, the server
     * ends the stream at expiry and the app has to log in again.
     */
    async _refreshAuth(t, info) {
      if (!this._canRefresh()) return;
      const token = await this._newToken();
      if (!token || this.stopped) return;
      if (t.kind === 'websocket') {
        // Not acknowledged: if the server refuses it, the socket closes with 4010 and the 401 path reconnects.
        t.send(JSON.stringify({ type: 'auth', token }));
        t.authExpiring = false;
      } else if (t.kind === 'sse' && info && typeof info.refresh === 'string' && /^\/api\/streams\/[0-9a-f]+\/auth$/.test(info.refresh)) {
        try {
          const res = await this.fetch(this.endpoints.base + info.refresh, { method: 'POST', headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
          if (res.ok) t.authExpiring = false;
          else this.out.error({ ...(await readError(res)), fatal: false, auth: true });
        } catch (err) {
          // The stream ends at expiry and reconnects with the new token: nothing is lost either way.
          this.out.error({ error: 'stream refresh failed: ' + ((err && err.message) || err), auth: true });
        }
      }
    }

    _wake() {
      // The network came back: do not wait out the backoff.
      if (this.stopped) return;
      if (this._reconnectTimer) {
        this._cancel(this._reconnectTimer);
        this._connect();
      } else if (this.state === 'offline' && this.active && this.active.opened) {
        // A short drop often leaves the stream itself alive (only new requests failed): nothing will reopen it,
        // so nothing else would take the state back from 'offline' (issue 19: "Offline" for 30 s while
        // messages flowed).
        this._setState('open');
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Cross-tab sharing. The tab holding the Web Lock runs the Engine and posts every event on a
  // BroadcastChannel; the others listen. When the leader goes away (tab closed: the browser releases its lock),
  // the next waiting tab gets the lock, asks the others for the highest event id they saw, and resumes from
  // the maximum — the server replays whatever the dead leader had not passed on.
  // ---------------------------------------------------------------------------------------------------------
  function sharingAvailable() {
    return !!(root.navigator && root.navigator.locks && typeof root.navigator.locks.request === 'function' && typeof root.BroadcastChannel === 'function');
  }

  function shareKey(o) {
    const a = o.auth || {};
    const who = a.assistantId != null ? `guest:${a.assistantId}:${a.guestId}` : a.siteToken != null ? 'site' : a.token != null ? 'operator' : 'anon';
    const what = o.admin ? 'admin' : o.topics ? 'topics:' + [].concat(o.topics).join(',') : 'dialog:' + o.dialogId;
    return `herald|${o.baseUrl || (root.location ? root.location.origin : '')}|${what}|${who}|${o.transport}`;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Client: the public API.
  // ---------------------------------------------------------------------------------------------------------
  class Client extends Emitter {
    /**
     * @param {object} options
     * @param {string} [options.baseUrl] Herald's origin, e.g. "https://chat.example.com" (default: the page's).
     * @param {number} [options.dialogId] Subscribe to one dialog …
     * @param {string[]} [options.topics] … or to generic topics …
     * @param {boolean} [options.admin] … or to the operators' feed (/api/events/admin).
     * @param {{token: string, refreshToken?: function(): Promise<string>}|{assistantId: number, guestId: string}|{siteToken: string}} options.auth
     *   `token` is an operator's token, or with `topics` an app token (the one the application's backend signed for
     *   its user, docs/apps.md); `refreshToken` returns a fresh one of the same user when the stream is about to expire.
     * @param {'auto'|'sse'|'websocket'|'poll'} [options.transport] default 'auto' (SSE, then long polling).
     * @param {number} [options.lastEventId] Resume after this event id.
     */
    constructor(options) {
      super();
      this.o = { ...DEFAULTS, ...options };
      // Own copy: a refreshed token replaces this one, not a field of the caller's object.
      this.o.auth = { ...(options && options.auth) };
      if (!['auto', 'sse', 'websocket', 'poll'].includes(this.o.transport)) throw new Error('Herald.Client: unknown transport ' + this.o.transport);
      this.tracker = new EventTracker(this.o.lastEventId);
      this.state = 'connecting';
      this.transport = null;
      this.isLeader = false;
      this.closed = false;
      this.engine = null;
      new Endpoints(this.o); // validate options now, not in a timer
      this._shared = this.o.share && sharingAvailable();
      // Start after the caller had a chance to attach handlers in the same tick.
      queueMicrotask(() => {
        if (this.closed) return;
        if (this._shared) this._joinTabs();
        else this._lead();
      });
    }

    /** The highest event id delivered so far (null before the first). */
    get lastEventId() {
      return this.tracker.lastEventId;
    }

    /** Stops everything; no event is emitted afterwards except the final state 'closed'. */
    close() {
      if (this.closed) return;
      this.closed = true;
      if (this.engine) this.engine.stop();
      this.engine = null;
      if (this._channel) {
        if (this.isLeader) this._post({ t: 'bye', id: this.tracker.lastEventId });
        this._channel.close();
        this._channel = null;
      }
      if (this._releaseLock) this._releaseLock();
      if (this._lockAbort) this._lockAbort.abort();
      this._setState('closed', this.transport);
    }

    _setState(state, transport) {
      const changed = state !== this.state || transport !== this.transport || this._stateLeader !== this.isLeader;
      this.state = state;
      this.transport = transport;
      this._stateLeader = this.isLeader;
      if (changed) this._emit('state', { state, transport, leader: this.isLeader });
    }

    _deliver(evt) {
      if (this.closed) return;
      if (evt.event === 'reset') {
        // After a reset the app reloads its history; the stream goes on from the new position.
        this._emit('reset', { ...evt, reason: evt.data && evt.data.reason, lastEventId: evt.id });
        this._emit('event', evt);
        return;
      }
      this._emit(evt.event, evt);
      if (evt.type && evt.type !== evt.event) this._emit(evt.type, evt);
      this._emit('event', evt);
    }

    _lead() {
      this.isLeader = true;
      this.engine = new Engine(this.o, this.tracker, {
        event: (evt) => {
          if (!this.tracker.accept(evt)) return;
          if (this._channel) this._post({ t: 'event', e: evt, id: this.tracker.lastEventId });
          this._deliver(evt);
        },
        state: (state, transport) => {
          if (this._channel) this._post({ t: 'state', state, transport, id: this.tracker.lastEventId });
          this._setState(state, transport);
        },
        error: (info) => {
          if (this._channel) this._post({ t: 'error', info });
          this._emit('error', info);
        },
      });
      this.engine.start();
    }

    _post(msg) {
      try {
        this._channel.postMessage(msg);
      } catch {
        // channel closed
      }
    }

    _joinTabs() {
      const key = shareKey(this.o);
      this._channel = new root.BroadcastChannel(key);
      this._channel.onmessage = (m) => this._onTabMessage(m.data);
      this._lockAbort = new AbortController();
      this._setState('connecting', null);
      this._post({ t: 'hello' });
      root.navigator.locks
        .request(key, { signal: this._lockAbort.signal }, () => {
          if (this.closed) return undefined;
          // Held until this tab closes or close() is called: the promise settles only then.
          return new Promise((release) => {
            this._releaseLock = release;
            this._becomeLeader();
          });
        })
        .catch(() => {
          // AbortError after close(): expected
        });
    }

    /**
     * A follower that was given a `lastEventId` may join a leader that is further ahead: the events between the
     * two positions were never broadcast to it. The first position the other tabs report is compared with ours;
     * if it is ahead, the gap is filled from the poll endpoint (answers at once with timeout=0) while broadcast
     * events wait in a buffer, so nothing is skipped or reordered. A follower without a position starts "from
     * now", like a fresh stream, and simply adopts the leader's.
     */
    _learnPosition(id, beforeEvent) {
      // For an event the sender's position *before* it is passed: the event itself is delivered by accept().
      if (this._synced || this.tracker.lastEventId == null) {
        this._synced = true;
        if (!this._catchUp && !beforeEvent) this.tracker.advance(id);
        return;
      }
      this._synced = true;
      if (id > this.tracker.lastEventId) this._fillGap(id);
    }

    async _fillGap(target) {
      const gap = (this._catchUp = { buffer: [] });
      const endpoints = new Endpoints(this.o);
      const doFetch = this.o.fetch || root.fetch.bind(root);
      let ok = true;
      try {
        let after = this.tracker.lastEventId;
        while (after < target && this._catchUp === gap && !this.closed) {
          const res = await doFetch(endpoints.poll(after, 0), { headers: endpoints.headers(), cache: 'no-store' });
          if (!res.ok) throw new Error('poll answered ' + res.status);
          const body = await res.json();
          if (this._catchUp !== gap) return;
          for (const item of body.events || []) {
            const evt = { ...fromPoll(item), transport: 'poll' };
            if (this.tracker.accept(evt)) this._deliver(evt);
          }
          if (!body.events || body.events.length === 0 || body.events.some((e) => e.event === 'reset')) break;
          after = body.last_event_id;
        }
      } catch {
        ok = false;
      }
      if (this._catchUp !== gap || this.closed) return; // became leader meanwhile: the server replays from our position
      this._catchUp = null;
      if (!ok) {
        // The gap cannot be filled: say so, as the server would, and go on from the leader's position.
        const reset = { id: target, event: 'reset', type: 'reset', topic: null, data: { reason: 'catch_up_failed', last_event_id: target } };
        this.tracker.accept(reset);
        this._deliver(reset);
      } else {
        this.tracker.advance(target);
      }
      for (const evt of gap.buffer) if (this.tracker.accept(evt)) this._deliver({ ...evt, relayed: true });
    }

    async _becomeLeader() {
      // Abandon a gap fill: as leader, the stream resumes from our (gapless) position and the server replays.
      this._catchUp = null;
      this._post({ t: 'ask' });
      await new Promise((r) => setTimeout(r, this.o.handoverWait));
      if (this.closed) return;
      this._lead();
    }

    _onTabMessage(msg) {
      if (this.closed || !msg || typeof msg !== 'object') return;
      // Every message carries the sender's position: a follower that becomes leader resumes from the highest.
      if (msg.id != null && !this.isLeader) this._learnPosition(msg.t === 'event' ? msg.id - 1 : msg.id, msg.t === 'event');
      switch (msg.t) {
        case 'hello':
          if (this.isLeader) this._post({ t: 'state', state: this.state, transport: this.transport, id: this.tracker.lastEventId });
          break;
        case 'ask':
          if (!this.isLeader) this._post({ t: 'pos', id: this.tracker.lastEventId });
          break;
        case 'event':
          if (this.isLeader) break; // two leaders cannot exist under one lock; ignore stray messages
          if (this._catchUp) {
            this._catchUp.buffer.push(msg.e); // delivered after the gap before it is filled
            break;
          }
          // `relayed` tells the app (and the tests) that this tab got the event from the leader tab.
          if (this.tracker.accept(msg.e)) this._deliver({ ...msg.e, relayed: true });
          break;
        case 'state':
          if (!this.isLeader) this._setState(msg.state, msg.transport);
          break;
        case 'error':
          if (!this.isLeader) this._emit('error', msg.info);
          break;
        case 'bye':
          if (!this.isLeader) this._setState('reconnecting', this.transport);
          break;
        default:
          break;
      }
    }
  }

  const Herald = {
    VERSION,
    Client,
    SseParser,
    EventTracker,
    Endpoints,
    backoffDelay,
    closeReconnects,
    fromSse,
    fromPoll,
    fromWebSocket,
    sharingAvailable,
    DEFAULTS,
  };
  root.Herald = Herald;
  if (typeof module === 'object' && module && module.exports) module.exports = Herald;
})(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this);
