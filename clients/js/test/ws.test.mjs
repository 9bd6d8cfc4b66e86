// The `ws` npm package (a WebSocket client nobody here wrote) against Herald's WebSocket endpoints, and a
// cross-check that SSE, long polling and WebSocket deliver the same events with the same ids.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { HeraldServer } from './support/herald-server.mjs';
import { SseParser } from '../src/herald.mjs';

let server;

before(async () => {
  server = await HeraldServer.start();
});

after(async () => {
  await server?.dispose();
});

/** A socket whose frames are awaited one at a time, each with a timeout. */
function open(path) {
  const ws = new WebSocket(server.baseUrl.replace('http', 'ws') + path);
  const frames = [];
  const waiters = [];
  let closed = null;
  const wake = () => waiters.splice(0).forEach((w) => w());
  ws.on('message', (data, isBinary) => {
    frames.push(isBinary ? data : data.toString('utf8'));
    wake();
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString('utf8') };
    wake();
  });
  ws.on('error', () => {});
  const wait = (pred, what, ms) =>
    new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      const check = () => {
        const v = pred();
        if (v !== undefined) {
          clearTimeout(timer);
          res(v);
        } else {
          waiters.push(check);
        }
      };
      check();
    });
  return {
    ws,
    opened: new Promise((res, rej) => {
      ws.once('open', res);
      ws.once('error', rej);
    }),
    /** The next frame (raw text). */
    next: (ms = 10_000) => wait(() => (frames.length ? frames.shift() : undefined), 'a frame', ms),
    /** The next frame parsed as JSON. */
    async json(ms) {
      return JSON.parse(await this.next(ms));
    },
    closed: (ms = 10_000) => wait(() => (closed ? closed : undefined), 'close', ms),
    close: () => ws.close(),
  };
}

describe('ws package against /ws/... endpoints', () => {
  test('guest socket: message frames carry event_id and the SSE data; __ping__ gets __pong__', async () => {
    const g = await server.guestDialog('ws-guest');
    const s = open(`/ws/widget/dialogs/${g.dialogId}?${g.query}`);
    try {
      await s.opened;
      s.ws.send('__ping__');
      assert.equal(await s.next(), '__pong__');
      const posted = await server.postGuest(g, 'hello socket');
      const frame = await s.json();
      assert.equal(frame.type, 'message:new');
      assert.ok(Number.isInteger(frame.event_id) && frame.event_id > 0);
      assert.equal(frame.event, undefined, 'event is omitted for "message"');
      assert.deepEqual(frame.message, posted);
    } finally {
      s.close();
    }
  });

  test('operator socket with ?token=', async () => {
    const g = await server.guestDialog('ws-operator');
    const token = await server.login();
    const s = open(`/ws/dialogs/${g.dialogId}?token=${token}`);
    try {
      await s.opened;
      await server.postGuest(g, 'to the operator');
      const frame = await s.json();
      assert.equal(frame.message.text, 'to the operator');
    } finally {
      s.close();
    }
  });

  const refusals = [
    ['no token', () => '/ws/dialogs/1', 4001],
    ['a bad token', () => '/ws/dialogs/1?token=not-a-jwt', 4001],
    ['another guest', (g) => `/ws/widget/dialogs/${g.dialogId}?assistant_id=${g.assistantId}&guest_id=intruder`, 4003],
    ['a dialog that does not exist', (g, token) => `/ws/dialogs/999999?token=${token}`, 4004],
    ['a malformed id', (g, token) => `/ws/dialogs/abc?token=${token}`, 4000],
  ];
  for (const [what, path, code] of refusals) {
    test(`refused with close code ${code}: ${what}`, async () => {
      const g = await server.guestDialog(`ws-refused-${code}`);
      const s = open(path(g, await server.login()));
      const closed = await s.closed();
      assert.equal(closed.code, code, `reason: ${closed.reason}`);
      assert.ok(closed.reason.length > 0, 'no close reason');
    });
  }

  test('resume with last_event_id: the missed events, then live, nothing twice', async () => {
    const g = await server.guestDialog('ws-resume');
    const path = `/ws/widget/dialogs/${g.dialogId}?${g.query}`;
    const first = open(path);
    await first.opened;
    await server.postGuest(g, 'a');
    await server.postGuest(g, 'b');
    const a = await first.json();
    const b = await first.json();
    first.close();
    await first.closed();
    await server.postGuest(g, 'c');
    await server.postGuest(g, 'd');
    const second = open(`${path}&last_event_id=${b.event_id}`);
    try {
      await second.opened;
      const c = await second.json();
      const d = await second.json();
      await server.postGuest(g, 'e');
      const e = await second.json();
      assert.deepEqual([a, b, c, d, e].map((f) => f.message.text), ['a', 'b', 'c', 'd', 'e']);
      const ids = [a, b, c, d, e].map((f) => f.event_id);
      assert.deepEqual([...ids].sort((x, y) => x - y), ids);
      assert.equal(new Set(ids).size, 5);
    } finally {
      second.close();
    }
  });

  test('an unknown last_event_id gives a reset frame, then live events', async () => {
    const g = await server.guestDialog('ws-reset');
    const s = open(`/ws/widget/dialogs/${g.dialogId}?${g.query}&last_event_id=999999999`);
    try {
      await s.opened;
      const reset = await s.json();
      assert.equal(reset.event, 'reset');
      assert.equal(reset.reason, 'unknown_position');
      assert.equal(reset.event_id, reset.last_event_id);
      await server.postGuest(g, 'after');
      const m = await s.json();
      assert.ok(m.event_id > reset.event_id);
    } finally {
      s.close();
    }
  });

  test('seed 002 operator socket: connected, subscribe, pong, new_message and dialog_update', async () => {
    const g = await server.guestDialog('ws-seed002');
    const token = await server.login();
    const s = open(`/ws?token=${token}`);
    try {
      await s.opened;
      assert.equal((await s.json()).type, 'connected');
      s.ws.send(JSON.stringify({ type: 'subscribe', dialog_ids: [g.dialogId] }));
      const subscribed = await s.json();
      assert.equal(subscribed.type, 'subscribed');
      assert.deepEqual(subscribed.dialog_ids, [g.dialogId]);
      s.ws.send(JSON.stringify({ type: 'ping' }));
      assert.equal((await s.json()).type, 'pong');
      await server.postGuest(g, 'to the console');
      const frames = [await s.json(), await s.json()];
      const byEvent = Object.fromEntries(frames.map((f) => [f.event, f]));
      assert.equal(byEvent.new_message.message.text, 'to the console');
      assert.equal(byEvent.dialog_update.dialog.id, g.dialogId);
      assert.equal(byEvent.dialog_update.dialog.last_message_text, 'to the console');
      s.ws.send('{not json');
      assert.equal((await s.json()).type, 'error');
    } finally {
      s.close();
    }
  });
});

describe('one event stream, three transports', () => {
  test('SSE, long polling and WebSocket deliver the same events in the same order with the same ids', async () => {
    const g = await server.guestDialog('same-everywhere');
    const start = (await server.json('GET', `/api/dialogs/${g.dialogId}/poll?${g.query}`)).body.last_event_id;
    for (let i = 0; i < 5; i++) await server.postGuest(g, `e${i}`);

    const poll = (await server.json('GET', `/api/dialogs/${g.dialogId}/poll?${g.query}&after_id=${start}&timeout=0`)).body.events.map((e) => ({ id: e.id, data: e.data }));

    const s = open(`/ws/widget/dialogs/${g.dialogId}?${g.query}&last_event_id=${start}`);
    await s.opened;
    const ws = [];
    for (let i = 0; i < 5; i++) {
      const { event_id: id, ...data } = await s.json();
      ws.push({ id, data });
    }
    s.close();

    const ctrl = new AbortController();
    const sse = [];
    const res = await fetch(`${server.baseUrl}/api/dialogs/${g.dialogId}/events?${g.query}&last_event_id=${start}`, { signal: ctrl.signal });
    const parser = new SseParser({ onEvent: (e) => sse.push({ id: Number(e.id), data: JSON.parse(e.data) }) });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const deadline = setTimeout(() => ctrl.abort(), 10_000);
    try {
      while (sse.length < 5) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      clearTimeout(deadline);
      ctrl.abort();
    }

    assert.equal(poll.length, 5);
    assert.deepEqual(ws, poll, 'WebSocket differs from long polling');
    assert.deepEqual(sse, poll, 'SSE differs from long polling');
    assert.deepEqual(poll.map((e) => e.data.message.text), ['e0', 'e1', 'e2', 'e3', 'e4']);
  });
});
