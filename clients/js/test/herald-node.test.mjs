// herald.js running in Node (fetch streams, the `ws` package as its WebSocket) against a real Herald node
// behind a proxy the tests can break. The browser tests repeat the key scenarios in Chromium.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Client } from '../src/herald.mjs';
import { HeraldServer, waitFor } from './support/herald-server.mjs';
import { BreakableProxy } from './support/proxy.mjs';

let server;
let proxy;

before(async () => {
  // Short retry so reconnects happen within the test budget; the client must still honour it.
  server = await HeraldServer.start({ 'Herald:Streams:RetryMilliseconds': 300, 'Herald:Streams:RetryJitterMilliseconds': 100 });
  proxy = await BreakableProxy.start(server.baseUrl);
});

after(async () => {
  await proxy?.close();
  await server?.dispose();
});

/** A client plus everything it emitted, and a way to await conditions on it. */
function watch(options) {
  const client = new Client({ baseUrl: proxy.baseUrl, retryDelay: 200, probeInterval: 1000, bufferingTimeout: 1500, ...options });
  const seen = { messages: [], states: [], errors: [], resets: [], events: [], transports: [] };
  const listeners = new Set();
  const notify = () => listeners.forEach((l) => l());
  client.on('message:new', (e) => {
    seen.messages.push({ id: e.id, text: e.data.message.text, transport: e.transport });
    notify();
  });
  client.on('event', (e) => {
    seen.events.push(e);
    notify();
  });
  client.on('reset', (e) => {
    seen.resets.push(e);
    notify();
  });
  client.on('state', (s) => {
    seen.states.push(s);
    if (s.state === 'open') seen.transports.push(s.transport);
    notify();
  });
  client.on('error', (e) => {
    seen.errors.push(e);
    notify();
  });
  const until = (pred, what, ms = 15_000) => waitFor((fn) => listeners.add(fn), pred, ms, what);
  return { client, seen, until };
}

function assertExactlyOnce(messages, expectedTexts) {
  const texts = messages.map((m) => m.text);
  assert.deepEqual(texts, expectedTexts, 'lost, duplicated or reordered messages');
  const ids = messages.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, 'an event id was delivered twice');
  assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'ids are not increasing');
}

describe('herald.js in Node', () => {
  test('SSE: named events, connection states, last event id', async () => {
    const g = await server.guestDialog('node-sse');
    const { client, seen, until } = watch({ dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId } });
    try {
      await until(() => client.state === 'open', 'open');
      assert.equal(client.transport, 'sse');
      assert.deepEqual(seen.states[0], { state: 'connecting', transport: 'sse', leader: true });
      assert.notEqual(client.lastEventId, null, 'the client did not learn a starting position');
      const posted = [];
      for (let i = 0; i < 5; i++) posted.push(await server.postGuest(g, `m${i}`));
      await until(() => seen.messages.length === 5, '5 messages');
      assertExactlyOnce(seen.messages, ['m0', 'm1', 'm2', 'm3', 'm4']);
      assert.deepEqual(seen.messages.map((m) => m.transport), Array(5).fill('sse'));
      assert.equal(client.lastEventId, seen.messages[4].id);
      assert.equal(seen.events.filter((e) => e.event === 'message').length, 5, "'event' fires for every event");
    } finally {
      client.close();
    }
    assert.equal(client.state, 'closed');
  });

  test('SSE cut: falls back to long polling, returns to SSE when the path heals, nothing lost or repeated', async () => {
    const g = await server.guestDialog('node-cut');
    const { client, seen, until } = watch({ dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId } });
    const expected = [];
    const post = async (n, tag) => {
      for (let i = 0; i < n; i++) {
        const text = `${tag}-${i}`;
        expected.push(text);
        await server.postGuest(g, text);
      }
    };
    try {
      await until(() => client.state === 'open' && client.transport === 'sse', 'SSE open');
      await post(10, 'sse');
      proxy.cutSse();
      await post(10, 'cut'); // while the client notices and falls back
      await until(() => client.state === 'open' && client.transport === 'poll', 'fallback to poll');
      await post(10, 'poll');
      await until(() => seen.messages.length === expected.length, 'messages over poll');
      proxy.restoreSse();
      await post(10, 'heal'); // while the probe finds SSE again
      await until(() => client.transport === 'sse' && client.state === 'open', 'back to SSE');
      await post(10, 'back');
      await until(() => seen.messages.length >= expected.length, 'all messages');
      assertExactlyOnce(seen.messages, expected);
      assert.ok(seen.messages.some((m) => m.transport === 'poll'), 'nothing came over long polling');
      assert.equal(seen.messages.at(-1).transport, 'sse');
      assert.deepEqual(client.engine.switches, ['poll', 'sse']);
    } finally {
      proxy.restoreSse();
      client.close();
    }
  });

  test('a buffering proxy (stream opens, no retry:/heartbeat) is detected and long polling takes over', async () => {
    const g = await server.guestDialog('node-buffered');
    proxy.sseBuffered = true;
    const { client, seen, until } = watch({ dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId }, probeInterval: 60_000 });
    try {
      await until(() => client.state === 'open' && client.transport === 'poll', 'poll after buffering detected', 10_000);
      assert.ok(seen.errors.some((e) => e.buffered), 'no buffering diagnosis');
      await server.postGuest(g, 'through the poll');
      await until(() => seen.messages.length === 1, 'message');
      assert.equal(seen.messages[0].transport, 'poll');
    } finally {
      proxy.sseBuffered = false;
      client.close();
    }
  });

  test('WebSocket on request (ws package): receives, reconnects with last_event_id after a drop', async () => {
    const g = await server.guestDialog('node-ws');
    const { client, seen, until } = watch({ dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId }, transport: 'websocket', WebSocket });
    const expected = [];
    try {
      await until(() => client.state === 'open', 'WebSocket open');
      assert.equal(client.transport, 'websocket');
      for (let i = 0; i < 3; i++) expected.push((await server.postGuest(g, `ws${i}`)).text);
      await until(() => seen.messages.length === 3, 'live messages');
      proxy.dropWebSockets();
      await until(() => client.state === 'reconnecting', 'noticing the drop');
      for (let i = 3; i < 6; i++) expected.push((await server.postGuest(g, `ws${i}`)).text);
      await until(() => seen.messages.length === 6, 'missed messages after reconnect');
      assertExactlyOnce(seen.messages, expected);
      assert.deepEqual(new Set(seen.messages.map((m) => m.transport)), new Set(['websocket']));
    } finally {
      client.close();
    }
  });

  test('WebSocket refused by the path: falls back to long polling', async () => {
    const g = await server.guestDialog('node-ws-cut');
    proxy.cutWebSockets();
    const { client, seen, until } = watch({ dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId }, transport: 'websocket', WebSocket });
    try {
      await until(() => client.state === 'open' && client.transport === 'poll', 'poll');
      await server.postGuest(g, 'x');
      await until(() => seen.messages.length === 1, 'message over poll');
      proxy.restoreWebSockets();
      await until(() => client.transport === 'websocket' && client.state === 'open', 'back to WebSocket');
      await server.postGuest(g, 'y');
      await until(() => seen.messages.length === 2, 'message over WebSocket');
      assertExactlyOnce(seen.messages, ['x', 'y']);
      assert.equal(seen.messages[1].transport, 'websocket');
    } finally {
      proxy.restoreWebSockets();
      client.close();
    }
  });

  for (const transport of ['sse', 'poll', 'websocket']) {
    test(`reset over ${transport}: an unknown position gives 'reset', then live events continue`, async () => {
      const g = await server.guestDialog(`node-reset-${transport}`);
      const { client, seen, until } = watch({
        dialogId: g.dialogId,
        auth: { assistantId: g.assistantId, guestId: g.guestId },
        transport,
        WebSocket,
        lastEventId: 1e12,
      });
      try {
        await until(() => seen.resets.length === 1, 'reset');
        assert.equal(seen.resets[0].reason, 'unknown_position');
        assert.ok(client.lastEventId < 1e12, 'the position did not move to the server head');
        await until(() => client.state === 'open', 'open');
        await server.postGuest(g, 'after reset');
        await until(() => seen.messages.length === 1, 'live message after reset');
        assert.equal(seen.messages[0].text, 'after reset');
        assert.equal(seen.resets.length, 1);
      } finally {
        client.close();
      }
    });
  }

  test('a credential the server refuses stops the client instead of retrying forever', async () => {
    const g = await server.guestDialog('node-403');
    const { client, seen, until } = watch({ dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: 'somebody-else' } });
    try {
      await until(() => client.state === 'closed', 'closed');
      const fatal = seen.errors.find((e) => e.fatal);
      assert.ok(fatal, 'no fatal error');
      assert.equal(fatal.status, 403);
      assert.equal(fatal.error, 'forbidden');
    } finally {
      client.close();
    }
  });

  test('generic topics over long polling with an operator token', async () => {
    const token = await server.login();
    const { client, seen, until } = watch({ topics: ['node-topic'], auth: { token }, transport: 'poll' });
    try {
      await until(() => client.state === 'open', 'open');
      for (let i = 0; i < 3; i++) {
        const r = await server.json('POST', '/api/publish', { topic: 'node-topic', event: 'progress', data: { pct: i } }, { Authorization: `Bearer ${token}` });
        assert.equal(r.status, 201);
      }
      await until(() => seen.events.filter((e) => e.event === 'progress').length === 3, 'progress events');
      const progress = seen.events.filter((e) => e.event === 'progress');
      assert.deepEqual(progress.map((e) => e.data.pct), [0, 1, 2]);
      assert.deepEqual(new Set(progress.map((e) => e.topic)), new Set(['node-topic']));
    } finally {
      client.close();
    }
  });

  test('the operators\' feed over long polling (/api/poll?topic=dialogs)', async () => {
    const token = await server.login();
    const { client, seen, until } = watch({ admin: true, auth: { token }, transport: 'poll' });
    try {
      await until(() => client.state === 'open', 'open');
      const g = await server.guestDialog('node-admin-poll');
      await server.postGuest(g, 'polled by the console');
      await until(() => seen.events.some((e) => e.event === 'new_message' && e.data.message.text === 'polled by the console'), 'new_message');
      assert.ok(seen.events.some((e) => e.event === 'dialog_update' && e.data.dialog.id === g.dialogId));
    } finally {
      client.close();
    }
  });

  test('the operators\' feed over SSE: new_message and dialog_update', async () => {
    const token = await server.login();
    const { client, seen, until } = watch({ admin: true, auth: { token } });
    try {
      await until(() => client.state === 'open', 'open');
      const g = await server.guestDialog('node-admin');
      await server.postGuest(g, 'hello operators');
      await until(() => seen.events.some((e) => e.event === 'new_message'), 'new_message');
      await until(() => seen.events.some((e) => e.event === 'dialog_update' && e.data.dialog.last_message_text === 'hello operators'), 'dialog_update');
      const nm = seen.events.find((e) => e.event === 'new_message');
      assert.equal(nm.data.dialog_id, g.dialogId);
      assert.equal(nm.data.message.text, 'hello operators');
    } finally {
      client.close();
    }
  });
});

describe('herald.js across a server restart', () => {
  test('reconnects by itself and delivers what was posted while the server was down, once', async () => {
    const own = await HeraldServer.start({ 'Herald:Streams:RetryMilliseconds': 300, 'Herald:Streams:RetryJitterMilliseconds': 0 });
    const g = await own.guestDialog('node-restart');
    const client = new Client({ baseUrl: own.baseUrl, dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId }, retryDelay: 200, probeInterval: 1000 });
    const texts = [];
    const ids = [];
    const listeners = new Set();
    client.on('message:new', (e) => {
      texts.push(e.data.message.text);
      ids.push(e.id);
      listeners.forEach((l) => l());
    });
    client.on('state', () => listeners.forEach((l) => l()));
    const until = (pred, what) => waitFor((fn) => listeners.add(fn), pred, 20_000, what);
    try {
      await until(() => client.state === 'open', 'open');
      await own.postGuest(g, 'before');
      await until(() => texts.length === 1, 'first');
      // SIGKILL: a crash, and quick. (A SIGTERM waits for the host's shutdown timeout while streams are open:
      // the server does not end them on shutdown yet.)
      await own.stop('SIGKILL');
      await until(() => client.state !== 'open', 'noticing the restart');
      await own.launch();
      await own.postGuest(g, 'during');
      await own.postGuest(g, 'after');
      await until(() => texts.length === 3, 'replayed');
      assert.deepEqual(texts, ['before', 'during', 'after']);
      assert.equal(new Set(ids).size, 3);
    } finally {
      client.close();
      await own.dispose();
    }
  });
});

describe('herald.js and expiring operator tokens', () => {
  // Tokens live 4 s and streams are warned 3 s ahead: auth-expiring arrives about 1 s after connecting.
  const settings = { 'Herald:Auth:TokenLifetime': '00:00:04', 'Herald:Streams:AuthWarningLead': '00:00:03', 'Herald:Streams:RetryMilliseconds': 200 };
  let own;
  let ownProxy;

  before(async () => {
    own = await HeraldServer.start(settings);
    ownProxy = await BreakableProxy.start(own.baseUrl);
  });

  after(async () => {
    await ownProxy?.close();
    await own?.dispose();
  });

  for (const transport of ['sse', 'websocket']) {
    test(`${transport}: refreshToken extends the open stream past the first token's expiry, without reconnecting`, async () => {
      const g = await own.guestDialog(`refresh-${transport}`);
      let refreshes = 0;
      const listeners = new Set();
      const notify = () => listeners.forEach((l) => l());
      const until = (pred, what, ms = 15_000) => waitFor((fn) => listeners.add(fn), pred, ms, what);
      const client = new Client({
        baseUrl: ownProxy.baseUrl,
        dialogId: g.dialogId,
        transport,
        WebSocket,
        auth: {
          token: await own.login(),
          refreshToken: async () => {
            refreshes++;
            const token = await own.login();
            setTimeout(notify, 0);
            return token;
          },
        },
      });
      const texts = [];
      const states = [];
      client.on('message:new', (e) => {
        texts.push(e.data.message.text);
        notify();
      });
      client.on('state', (s) => {
        states.push(s.state);
        notify();
      });
      const requestsBefore = transport === 'sse' ? ownProxy.counts.sse : ownProxy.counts.ws;
      try {
        await until(() => client.state === 'open', 'open');
        // Four refreshes take ≈ 4 s: by then the first token (4 s) has expired.
        await until(() => refreshes >= 4, 'four refreshes', 20_000);
        await own.postGuest(g, 'still open');
        await until(() => texts.length === 1, 'message on the refreshed stream');
        assert.deepEqual(states, ['connecting', 'open'], 'the stream was reconnected instead of refreshed');
        const requests = (transport === 'sse' ? ownProxy.counts.sse : ownProxy.counts.ws) - requestsBefore;
        assert.equal(requests, 1, `${requests} stream requests`);
      } finally {
        client.close();
      }
    });
  }

  test('without refreshToken the stream ends at expiry and the client stops with 401', async () => {
    const g = await own.guestDialog('no-refresh');
    const client = new Client({ baseUrl: ownProxy.baseUrl, dialogId: g.dialogId, auth: { token: await own.login() }, retryDelay: 100 });
    const errors = [];
    const listeners = new Set();
    client.on('error', (e) => {
      errors.push(e);
      listeners.forEach((l) => l());
    });
    client.on('state', () => listeners.forEach((l) => l()));
    try {
      await waitFor((fn) => listeners.add(fn), () => client.state === 'closed', 15_000, 'closed after expiry');
      const fatal = errors.find((e) => e.fatal);
      assert.equal(fatal.status, 401);
    } finally {
      client.close();
    }
  });
});

describe('herald.js at a connection limit', () => {
  let full;

  before(async () => {
    full = await HeraldServer.start({ 'Herald:Streams:MaxConnections': 1, 'Herald:Streams:RetryMilliseconds': 300 });
  });

  after(async () => {
    await full?.dispose();
  });

  test('a WebSocket refused because the node is full is retried, and opens once a slot is free', async () => {
    const g = await full.guestDialog('limit-ws');
    // Another socket holds the node's only slot; its __pong__ comes through the subscriber, so the slot is taken.
    const holder = new WebSocket(`${full.baseUrl.replace('http', 'ws')}/ws/widget/dialogs/${g.dialogId}?${g.query}`);
    const pong = new Promise((res, rej) => {
      holder.once('message', (m) => res(m.toString('utf8')));
      holder.once('error', rej);
    });
    await new Promise((res, rej) => {
      holder.once('open', res);
      holder.once('error', rej);
    });
    holder.send('__ping__');
    assert.equal(await Promise.race([pong, new Promise((_, rej) => setTimeout(() => rej(new Error('no __pong__ in 10 s')), 10_000))]), '__pong__');

    const { client, seen, until } = watch({
      baseUrl: full.baseUrl,
      dialogId: g.dialogId,
      auth: { assistantId: g.assistantId, guestId: g.guestId },
      transport: 'websocket',
      WebSocket,
      fallbackAfter: 1000,
    });
    try {
      await until(() => seen.errors.some((e) => e.code !== undefined), 'the refusal');
      const refusal = seen.errors.find((e) => e.code !== undefined);
      assert.equal(refusal.code, 4529);
      assert.equal(refusal.reason, 'too_many_connections');
      assert.equal(refusal.fatal, false);
      await until(() => seen.errors.length >= 2, 'a second attempt while the node is still full');
      assert.notEqual(client.state, 'closed');

      holder.close();
      await until(() => client.state === 'open' && client.transport === 'websocket', 'open once the slot is free');
      await full.postGuest(g, 'after the limit');
      await until(() => seen.messages.length === 1, 'a message over the socket');
      assert.equal(seen.messages[0].text, 'after the limit');
    } finally {
      client.close();
      holder.terminate();
    }
  });
});
