// Unit tests of herald.js's pure parts: the SSE parser, backoff, dedupe/position tracking, and the mapping of
// each transport's wire shape onto one event shape. No server, no timers.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Herald, { SseParser, EventTracker, Endpoints, backoffDelay, closeReconnects, fromSse, fromPoll, fromWebSocket } from '../src/herald.mjs';

function parse(chunks) {
  const out = { events: [], retries: [], comments: [] };
  const p = new SseParser({
    onEvent: (e) => out.events.push(e),
    onRetry: (ms) => out.retries.push(ms),
    onComment: (c) => out.comments.push(c),
  });
  for (const c of chunks) p.feed(c);
  out.parser = p;
  return out;
}

describe('SseParser', () => {
  test('parses the frames Herald sends', () => {
    const r = parse([
      'retry: 6234\n\n: heartbeat\n\n',
      'id: 17\nevent: message\ndata: {"type":"message:new"}\n\n',
      'event: typing\ndata: {"type":"typing"}\n\n',
    ]);
    assert.deepEqual(r.retries, [6234]);
    assert.deepEqual(r.comments, ['heartbeat']);
    assert.deepEqual(r.events, [
      { id: '17', event: 'message', data: '{"type":"message:new"}' },
      // Its own block has no id: an ephemeral event must not inherit the previous one (EventSource would).
      { id: null, event: 'typing', data: '{"type":"typing"}' },
    ]);
    assert.equal(r.parser.lastEventId, '17');
  });

  test('gives the same result however the bytes are split', () => {
    const text = 'retry: 100\r\n\r\nid: 1\r\ndata: a\r\ndata: b\r\n\r\nid: 2\rdata: c\r\rid: 3\ndata:d\n\n';
    const whole = parse([text]).events;
    assert.deepEqual(whole, [
      { id: '1', event: 'message', data: 'a\nb' },
      { id: '2', event: 'message', data: 'c' },
      { id: '3', event: 'message', data: 'd' },
    ]);
    for (let cut = 1; cut < text.length; cut++) {
      assert.deepEqual(parse([text.slice(0, cut), text.slice(cut)]).events, whole, `split at ${cut}`);
    }
    assert.deepEqual(parse([...text]).events, whole, 'one character at a time');
  });

  test('a CR at the end of a chunk and LF at the start of the next are one line break', () => {
    const r = parse(['data: x\r', '\n\r', '\n']);
    assert.deepEqual(r.events, [{ id: null, event: 'message', data: 'x' }]);
  });

  test('strips one leading BOM, keeps a second', () => {
    assert.deepEqual(parse(['\ufeffdata: x\n\n']).events, [{ id: null, event: 'message', data: 'x' }]);
    assert.deepEqual(parse(['\ufeff\ufeffdata: x\n\n']).events, []);
  });

  test('ignores blocks without data, unknown fields, bad retry values and ids with NUL', () => {
    const r = parse(['event: x\nid: 5\n\n', 'foo: bar\nretry: 12a\nretry\ndata\n\n', 'id: 9\0\ndata: y\n\n']);
    assert.deepEqual(r.retries, []);
    assert.deepEqual(r.events, [
      { id: null, event: 'message', data: '' },
      { id: null, event: 'message', data: 'y' },
    ]);
  });

  test('only one leading space of a value is removed; a field without colon has an empty value', () => {
    const r = parse(['data:  two spaces\ndata\ndata:none\n\n']);
    assert.deepEqual(r.events, [{ id: null, event: 'message', data: ' two spaces\n\nnone' }]);
  });

  test('an unterminated last event is not dispatched', () => {
    assert.deepEqual(parse(['data: x\n']).events, []);
  });
});

describe('backoffDelay', () => {
  test('the first retry waits exactly the base (the server already jittered retry:)', () => {
    assert.equal(backoffDelay(0, 5000, 30000, () => 0.99), 5000);
    assert.equal(backoffDelay(0, 50000, 30000), 30000, 'capped');
  });

  test('grows exponentially with equal jitter, never below the base, never above max', () => {
    for (let attempt = 1; attempt < 12; attempt++) {
      const ceiling = Math.min(30000, 1000 * 2 ** attempt);
      const low = backoffDelay(attempt, 1000, 30000, () => 0);
      const high = backoffDelay(attempt, 1000, 30000, () => 1);
      assert.equal(low, Math.max(1000, ceiling / 2));
      assert.equal(high, ceiling);
    }
  });

  test('jitter spreads clients out', () => {
    const values = new Set(Array.from({ length: 50 }, () => backoffDelay(4, 1000, 30000)));
    assert.ok(values.size > 10, `only ${values.size} distinct delays`);
  });
});

describe('closeReconnects', () => {
  test('follows the documented ranges: 4000-4499 stop, RFC codes and 4500-4999 reconnect', () => {
    for (const code of [1000, 1006, 1009, 1011, 1012, 3000, 4500, 4508, 4509, 4510, 4529, 4999]) assert.equal(closeReconnects(code), true, `${code}`);
    for (const code of [4000, 4001, 4003, 4004, 4010, 4011, 4499]) assert.equal(closeReconnects(code), false, `${code}`);
  });
});

describe('EventTracker', () => {
  const ev = (id, event = 'message') => ({ id, event });

  test('delivers each id once, in any arrival order across transports', () => {
    const t = new EventTracker();
    const delivered = [];
    // poll delivers 1..3, the SSE probe replays 2..4, then poll's late answer repeats 3..5
    for (const id of [1, 2, 3, 2, 3, 4, 3, 4, 5]) if (t.accept(ev(id))) delivered.push(id);
    assert.deepEqual(delivered, [1, 2, 3, 4, 5]);
    assert.equal(t.duplicates, 4);
    assert.equal(t.lastEventId, 5);
  });

  test('starts from a given position', () => {
    const t = new EventTracker('10');
    assert.equal(t.accept(ev(10)), false);
    assert.equal(t.accept(ev(11)), true);
  });

  test('ephemeral events (no id) always pass and do not move the position', () => {
    const t = new EventTracker(4);
    assert.equal(t.accept(ev(null, 'typing')), true);
    assert.equal(t.accept(ev(null, 'typing')), true);
    assert.equal(t.lastEventId, 4);
  });

  test('a reset moves the position, even backwards, and the same reset from a second transport is dropped', () => {
    const t = new EventTracker(500);
    assert.equal(t.accept(ev(120, 'reset')), true);
    assert.equal(t.lastEventId, 120);
    assert.equal(t.accept(ev(120, 'reset')), false);
    assert.equal(t.accept(ev(121)), true);
    assert.equal(t.accept(ev(121)), false);
  });

  test('advance never moves backwards', () => {
    const t = new EventTracker(7);
    t.advance(3);
    assert.equal(t.lastEventId, 7);
    t.advance(9);
    assert.equal(t.lastEventId, 9);
    t.advance(null);
    assert.equal(t.lastEventId, 9);
  });
});

describe('wire shapes', () => {
  const message = { type: 'message:new', message: { id: 5, dialog_id: 1, sender: 'user', text: 'Hi', created_at: 'x' } };

  test('SSE, long-poll and WebSocket forms of one event map to the same object', () => {
    const sse = fromSse({ id: '17', event: 'message', data: JSON.stringify(message) });
    const poll = fromPoll({ id: 17, event: 'message', topic: 'dialog:1', data: message });
    const ws = fromWebSocket({ event_id: 17, ...message });
    for (const e of [sse, poll, ws]) {
      assert.equal(e.id, 17);
      assert.equal(e.event, 'message');
      assert.equal(e.type, 'message:new');
      assert.deepEqual(e.data, message);
    }
    assert.equal(poll.topic, 'dialog:1');
  });

  test('WebSocket typing, reset and wrapped non-object payloads', () => {
    const typing = fromWebSocket({ event: 'typing', type: 'typing', dialog_id: 1, sender: 'user' });
    assert.deepEqual(typing, { id: null, event: 'typing', type: 'typing', topic: null, data: { type: 'typing', dialog_id: 1, sender: 'user' } });
    const reset = fromWebSocket({ event_id: 120, event: 'reset', reason: 'history_trimmed', last_event_id: 120 });
    assert.equal(reset.id, 120);
    assert.equal(reset.event, 'reset');
    assert.deepEqual(reset.data, { reason: 'history_trimmed', last_event_id: 120 });
    const progress = fromWebSocket({ event_id: 3, event: 'progress', data: 42 });
    assert.equal(progress.data, 42);
  });

  test('SSE data that is not JSON stays a string', () => {
    assert.equal(fromSse({ id: null, event: 'message', data: 'plain' }).data, 'plain');
  });
});

describe('Endpoints', () => {
  test('guest dialog URLs carry the guest in the query, never a header', () => {
    const e = new Endpoints({ baseUrl: 'http://h:8000/', dialogId: 3, auth: { assistantId: 1, guestId: 'g 1' } });
    assert.equal(e.sse(12), 'http://h:8000/api/dialogs/3/events?assistant_id=1&guest_id=g+1&last_event_id=12');
    assert.equal(e.poll(12, 25), 'http://h:8000/api/dialogs/3/poll?assistant_id=1&guest_id=g+1&after_id=12&timeout=25');
    assert.equal(e.webSocket(null), 'ws://h:8000/ws/widget/dialogs/3?assistant_id=1&guest_id=g+1');
    assert.deepEqual(e.headers(), {});
  });

  test('operators use a Bearer header over HTTP and ?token= on the WebSocket', () => {
    const e = new Endpoints({ baseUrl: 'https://h', dialogId: 3, auth: { token: 'T' } });
    assert.equal(e.sse(null), 'https://h/api/dialogs/3/events');
    assert.equal(e.webSocket(5), 'wss://h/ws/dialogs/3?token=T&last_event_id=5');
    assert.deepEqual(e.headers(), { Authorization: 'Bearer T' });
  });

  test('topics, site tokens and the operators\' feed', () => {
    const t = new Endpoints({ baseUrl: 'http://h', topics: ['a', 'b'], auth: { token: 'T' } });
    assert.equal(t.sse(1), 'http://h/api/events?topic=a&topic=b&last_event_id=1');
    assert.equal(t.poll(1, 5), 'http://h/api/poll?topic=a&topic=b&after_id=1&timeout=5');
    assert.equal(t.webSocket(1), 'ws://h/ws/topics?token=T&topic=a&topic=b&last_event_id=1');
    const s = new Endpoints({ baseUrl: 'http://h', dialogId: 9, auth: { siteToken: 'S' } });
    assert.equal(s.webSocket(null), 'ws://h/ws/site/dialogs/9?site_token=S');
    const a = new Endpoints({ baseUrl: 'http://h', admin: true, auth: { token: 'T' } });
    assert.equal(a.sse(null), 'http://h/api/events/admin');
    assert.equal(a.webSocket(null), null);
    assert.equal(a.poll(4, 25), 'http://h/api/poll?topic=dialogs&after_id=4&timeout=25');
  });

  test('refuses options without a subscription', () => {
    assert.throws(() => new Endpoints({ baseUrl: 'http://h', auth: {} }), /dialogId, topics or admin/);
  });
});

test('herald.js publishes itself on globalThis and degrades sharing outside a browser', () => {
  assert.equal(globalThis.Herald, Herald);
  assert.equal(Herald.sharingAvailable(), false, 'Node has BroadcastChannel but no Web Locks');
});
