// herald.js in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no browser download)
// against a real Herald node. The page, herald.js and the API share one origin: a proxy on 127.0.0.1 serves
// the page and herald.js from the source tree and forwards everything else to Herald — and can cut the SSE path.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { HeraldServer } from './support/herald-server.mjs';
import { BreakableProxy } from './support/proxy.mjs';

// The page records everything the client emits; the test reads it with page.evaluate / waitForFunction.
const TEST_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>herald.js test page</title>
<script src="/herald.js"></script>
<script>
  window.log = { messages: [], states: [], errors: [], resets: [], typing: [] };
  window.startClient = function (options) {
    const client = new Herald.Client(options);
    window.client = client;
    client.on('message:new', (e) => log.messages.push({ id: e.id, text: e.data.message.text, transport: e.transport, relayed: !!e.relayed }));
    client.on('typing', (e) => log.typing.push(e.data));
    client.on('reset', (e) => log.resets.push(e.reason));
    client.on('state', (s) => log.states.push(s));
    client.on('error', (e) => log.errors.push(e.error));
  };
</script>`;

const MODULE_PAGE = `<!doctype html>
<meta charset="utf-8">
<script type="module">
  import { Client, VERSION } from '/herald.mjs';
  window.moduleResult = { Client: typeof Client, VERSION, global: typeof window.Herald };
</script>`;

let server;
let proxy;
let browser;

before(async () => {
  [server, browser] = await Promise.all([
    HeraldServer.start({ 'Herald:Streams:RetryMilliseconds': 300, 'Herald:Streams:RetryJitterMilliseconds': 200 }),
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
  ]);
  proxy = await BreakableProxy.start(server.baseUrl);
  proxy.page('/test.html', TEST_PAGE);
  proxy.page('/module.html', MODULE_PAGE);
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.dispose();
});

/** Posts messages one after another until stop() — the load that runs across every switch. */
function startPoster(g, prefix) {
  const posted = [];
  let stopped = false;
  let failure = null;
  const done = (async () => {
    while (!stopped) {
      const text = `${prefix}-${posted.length}`;
      try {
        await server.postGuest(g, text);
        posted.push(text);
      } catch (err) {
        failure = err;
        return;
      }
      await new Promise((r) => setTimeout(r, 8));
    }
  })();
  return {
    posted,
    /** Resolves once `n` more messages than now have been posted. */
    async more(n, timeoutMs = 30_000) {
      const target = posted.length + n;
      const deadline = Date.now() + timeoutMs;
      while (posted.length < target) {
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error(`poster stalled at ${posted.length}/${target}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      stopped = true;
      await done;
      if (failure) throw failure;
    },
  };
}

async function openPage(context, options) {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(`${proxy.baseUrl}/test.html`);
  await page.evaluate((o) => window.startClient(o), options);
  return page;
}

const waitState = (page, state, transport, timeout = 15_000) =>
  page.waitForFunction(([s, t]) => window.client && client.state === s && (!t || client.transport === t), [state, transport], { timeout, polling: 50 });

async function assertExactlyOnce(page, expected) {
  const messages = await page.evaluate(() => log.messages);
  const texts = messages.map((m) => m.text);
  const missing = expected.filter((t) => !texts.includes(t));
  assert.deepEqual(missing, [], `${missing.length} messages lost`);
  assert.equal(texts.length, expected.length, `${texts.length - expected.length} duplicates`);
  assert.deepEqual(texts, expected, 'order differs');
  const ids = messages.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, 'an event id was delivered twice');
  return messages;
}

describe('herald.js in Chromium', () => {
  test('loads as a classic script and as an ES module', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${proxy.baseUrl}/module.html`);
      await page.waitForFunction(() => window.moduleResult, null, { timeout: 5000 });
      assert.deepEqual(await page.evaluate(() => window.moduleResult), { Client: 'function', VERSION: '0.1.0', global: 'object' });
      await page.goto(`${proxy.baseUrl}/test.html`);
      assert.deepEqual(await page.evaluate(() => [typeof Herald.Client, Herald.sharingAvailable(), isSecureContext]), ['function', true, true]);
    } finally {
      await page.close();
    }
  });

  test('SSE path cut twice during ≥ 200 messages: long polling and back, 0 lost, 0 duplicated', { timeout: 120_000 }, async () => {
    const g = await server.guestDialog('browser-cut');
    const context = await browser.newContext();
    const page = await openPage(context, {
      dialogId: g.dialogId,
      auth: { assistantId: g.assistantId, guestId: g.guestId },
      retryDelay: 300,
      probeInterval: 1500,
      bufferingTimeout: 3000,
    });
    await waitState(page, 'open', 'sse');
    // Posting starts once the client has its position: earlier messages are history, not stream.
    const poster = startPoster(g, 'cut');
    try {
      for (let round = 0; round < 2; round++) {
        await poster.more(40);
        proxy.cutSse(); // live streams torn down, new ones refused
        await waitState(page, 'open', 'poll');
        await poster.more(40);
        proxy.restoreSse();
        await waitState(page, 'open', 'sse');
      }
      await poster.more(30);
      await poster.stop();
      const expected = poster.posted;
      assert.ok(expected.length >= 200, `only ${expected.length} messages posted`);
      await page.waitForFunction((n) => log.messages.length >= n, expected.length, { timeout: 20_000, polling: 100 }).catch(async (err) => {
        const got = await page.evaluate(() => log.messages);
        const texts = new Set(got.map((m) => m.text));
        const missing = expected.filter((t) => !texts.has(t));
        console.error('missing', missing, 'around', JSON.stringify(got.filter((m, i) => Math.abs(expected.indexOf(m.text) - expected.indexOf(missing[0])) < 4)));
        console.error(await page.evaluate(() => JSON.stringify({ n: log.messages.length, states: log.states.slice(-6), errors: log.errors.slice(-6), last: client.lastEventId, state: client.state, transport: client.transport })), expected.length);
        throw err;
      });
      const messages = await assertExactlyOnce(page, expected);
      const byTransport = messages.reduce((acc, m) => ({ ...acc, [m.transport]: (acc[m.transport] || 0) + 1 }), {});
      assert.ok(byTransport.poll > 0 && byTransport.sse > 0, `transports used: ${JSON.stringify(byTransport)}`);
      const switches = await page.evaluate(() => client.engine.switches);
      assert.deepEqual(switches, ['poll', 'sse', 'poll', 'sse']);
      assert.ok(proxy.counts.refused >= 2, 'the cut refused no SSE request');
    } finally {
      proxy.restoreSse();
      await poster.stop().catch(() => {});
      await context.close();
    }
  });

  test('two tabs share one connection; the follower takes over when the leader tab closes, losing nothing', { timeout: 90_000 }, async () => {
    const g = await server.guestDialog('browser-tabs');
    const options = { dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId }, retryDelay: 300 };
    const context = await browser.newContext();
    const leader = await openPage(context, options);
    await waitState(leader, 'open', 'sse');
    const follower = await openPage(context, options);
    await waitState(follower, 'open', 'sse');
    const poster = startPoster(g, 'tabs');
    try {
      assert.equal(await leader.evaluate(() => client.isLeader), true);
      assert.equal(await follower.evaluate(() => client.isLeader), false);
      const stats = await server.json('GET', '/api/sse/stats');
      assert.equal(stats.body.active_connections, 1, `two tabs hold ${stats.body.active_connections} connections`);
      assert.equal(proxy.liveCount('sse'), 1);

      await poster.more(30);
      const before = poster.posted.length;
      await follower.waitForFunction((n) => log.messages.length >= n, before, { timeout: 15_000, polling: 50 });
      const relayed = await follower.evaluate(() => log.messages.slice(0, 5).map((m) => m.relayed));
      assert.deepEqual(relayed, Array(5).fill(true), 'the follower did not get its events from the leader tab');

      await leader.close(); // messages keep coming while the lock passes to the other tab
      await follower.waitForFunction(() => client.isLeader && client.state === 'open', null, { timeout: 15_000, polling: 50 });
      await poster.more(30);
      await poster.stop();
      const expected = poster.posted;
      await follower.waitForFunction((n) => log.messages.length >= n, expected.length, { timeout: 15_000, polling: 100 });
      await assertExactlyOnce(follower, expected);
      const after = await server.json('GET', '/api/sse/stats');
      assert.equal(after.body.active_connections, 1, 'the new leader does not hold exactly one connection');
    } finally {
      await poster.stop().catch(() => {});
      await context.close();
    }
  });

  test('a tab that joins with an older lastEventId gets the gap from the server, then the leader\'s events, each once', { timeout: 60_000 }, async () => {
    const g = await server.guestDialog('browser-late-tab');
    const options = { dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId } };
    const context = await browser.newContext();
    try {
      const leader = await openPage(context, options);
      await waitState(leader, 'open', 'sse');
      for (let i = 0; i < 10; i++) await server.postGuest(g, `early-${i}`);
      await leader.waitForFunction(() => log.messages.length === 10, null, { timeout: 10_000, polling: 50 });
      const third = (await leader.evaluate(() => log.messages))[2];
      const late = await openPage(context, { ...options, lastEventId: third.id });
      await waitState(late, 'open', 'sse');
      for (let i = 0; i < 5; i++) await server.postGuest(g, `live-${i}`);
      const expected = [...Array.from({ length: 7 }, (_, i) => `early-${i + 3}`), ...Array.from({ length: 5 }, (_, i) => `live-${i}`)];
      await late.waitForFunction((n) => log.messages.length >= n, expected.length, { timeout: 10_000, polling: 50 });
      await assertExactlyOnce(late, expected);
      assert.equal(await late.evaluate(() => client.isLeader), false);
      assert.equal((await server.json('GET', '/api/sse/stats')).body.active_connections, 1);
    } finally {
      await context.close();
    }
  });

  test('a buffering proxy on the SSE path: the page detects it and long-polls by itself', async () => {
    const g = await server.guestDialog('browser-buffered');
    const context = await browser.newContext();
    proxy.sseBuffered = true;
    try {
      const page = await openPage(context, { dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId }, bufferingTimeout: 1500, probeInterval: 60_000 });
      await waitState(page, 'open', 'poll');
      await server.postGuest(g, 'through the proxy');
      await page.waitForFunction(() => log.messages.length === 1, null, { timeout: 10_000, polling: 50 });
      const [m] = await page.evaluate(() => log.messages);
      assert.equal(m.transport, 'poll');
      assert.ok((await page.evaluate(() => log.errors)).some((e) => /no retry or heartbeat/.test(e)));
    } finally {
      proxy.sseBuffered = false;
      await context.close();
    }
  });

  test('WebSocket on request in the browser, with typing indicators', async () => {
    const g = await server.guestDialog('browser-ws');
    const context = await browser.newContext();
    const page = await openPage(context, { dialogId: g.dialogId, auth: { assistantId: g.assistantId, guestId: g.guestId }, transport: 'websocket' });
    try {
      await waitState(page, 'open', 'websocket');
      const typing = await server.json('POST', `/api/widget/dialogs/${g.dialogId}/typing?${g.query}`);
      assert.equal(typing.status, 202);
      await server.postGuest(g, 'over the socket');
      await page.waitForFunction(() => log.messages.length === 1 && log.typing.length === 1, null, { timeout: 10_000, polling: 50 });
      const [m] = await page.evaluate(() => log.messages);
      assert.equal(m.text, 'over the socket');
      assert.equal(m.transport, 'websocket');
    } finally {
      await context.close();
    }
  });
});
