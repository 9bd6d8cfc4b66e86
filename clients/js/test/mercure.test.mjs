// Herald's Mercure hub in headless Chromium (Debian's /usr/bin/chromium via playwright-core), held to the behaviours
// of Mercure's own conformance suite (dunglas/mercure conformance-tests/mercure.spec.ts): a page on the hub's origin
// opens an EventSource, publishes with fetch, and checks what arrives — on one node, and with the subscriber and the
// publisher on different nodes of a two-node cluster (shared store, Redis between them). Then a Symfony-style
// publisher (form POST, HS256 token with the `mercure` claim) keeps publishing while the subscriber's node is killed:
// the EventSource comes back through the proxy on the other node and has every update once, in order. Mercure's
// subscription events (Herald:Mercure:Subscriptions): a watcher on node A sees a page's EventSource on node B start and end.
//
// "Not received" is decided without a timeout: every subscription also selects a sentinel topic, published right
// after the update under test; updates arrive in publish order, so the sentinel arriving first proves the absence.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { HeraldServer, freePort } from './support/herald-server.mjs';
import { BreakableProxy } from './support/proxy.mjs';

const SECRET = '!ChangeThisMercureHubJWTSecretKey!';
// The conformance suite's own publisher token (RFC 9068 at+jwt, authorization_details publish+subscribe on "*"),
// unchanged: Herald accepts what the suite sends when it is run against Herald from outside.
const SUITE_TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJhdWQiOiJodHRwczovL2xvY2FsaG9zdC8ud2VsbC1rbm93bi9tZXJjdXJlIiwiaXNzIjoiaHR0cHM6Ly9sb2NhbGhvc3QiLCJhdXRob3JpemF0aW9uX2RldGFpbHMiOlt7InR5cGUiOiJodHRwczovL21lcmN1cmUucm9ja3MvYXV0aG9yaXphdGlvbi1kZXRhaWwiLCJhY3Rpb25zIjpbInB1Ymxpc2giXSwidG9waWNzIjpbeyJtYXRjaCI6IioifV19LHsidHlwZSI6Imh0dHBzOi8vbWVyY3VyZS5yb2Nrcy9hdXRob3JpemF0aW9uLWRldGFpbCIsImFjdGlvbnMiOlsic3Vic2NyaWJlIl0sInRvcGljcyI6W3sibWF0Y2giOiIqIn1dfV0sImV4cCI6NDEwMjQ0NDgwMH0.z_S8IP5WZsCK8h3pcq0PB5zvJE0OdTrGA70khAYJQy4';

/** A token as Symfony's Mercure component signs it (lcobucci/jwt, HS256 over the shared secret). */
function symfonyToken(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${b64({ typ: 'JWT', alg: 'HS256' })}.${b64(claims)}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

const rnd = () => randomBytes(20).toString('hex');

function dataset() {
  const r = Array.from({ length: 6 }, rnd);
  return [
    { name: 'raw string', mustBeReceived: true, updateTopics: [r[0]], topicSelectors: [r[0]] },
    { name: 'multiple topic selectors', mustBeReceived: true, updateTopics: [r[2]], topicSelectors: ['foo', r[2]] },
    { name: 'multiple update topics, delivered once', mustBeReceived: true, updateTopics: [r[5], `${r[5]}-alt`], topicSelectors: [r[5], `${r[5]}-alt`] },
    { name: 'URI', mustBeReceived: true, updateTopics: [`https://example.net/foo/${r[3]}`], topicSelectors: [`https://example.net/foo/${r[3]}`] },
    { name: 'URL pattern', mustBeReceived: true, updateTopics: [`https://example.net/foo/${r[4]}`], topicSelectors: ['https://example.net/foo/:random'] },
    { name: 'URI template (0.x topic=)', mustBeReceived: true, updateTopics: [`https://example.net/books/${r[1]}`], topicSelectors: ['https://example.net/books/{id}'], legacy: true },
    { name: 'nonmatching raw string', mustBeReceived: false, updateTopics: ['will-not-match'], topicSelectors: ['another-name'] },
    { name: 'nonmatching URI', mustBeReceived: false, updateTopics: ['https://example.net/foo/will-not-match'], topicSelectors: ['https://example.net/foo/another-name'] },
    { name: 'nonmatching URL pattern', mustBeReceived: false, updateTopics: ['https://example.net/foo/will-not-match'], topicSelectors: ['https://example.net/bar/:var'] },
    { name: 'nonmatching URI template', mustBeReceived: false, updateTopics: ['https://example.net/authors/1'], topicSelectors: ['https://example.net/books/{id}'], legacy: true },
    { name: 'private raw string', mustBeReceived: false, private: true, updateTopics: [r[0]], topicSelectors: [r[0]] },
    { name: 'private URI', mustBeReceived: false, private: true, updateTopics: [`https://example.net/foo/${r[3]}`], topicSelectors: [`https://example.net/foo/${r[3]}`] },
    { name: 'private URL pattern', mustBeReceived: false, private: true, updateTopics: [`https://example.net/foo/${r[4]}`], topicSelectors: ['https://example.net/foo/:random'] },
  ];
}

// Runs in the page: the conformance suite's steps, plus the sentinel. Returns what arrived and what the POST answered.
async function runInPage({ data, subscribeBase, publishBase, token }) {
  const url = new URL('/.well-known/mercure', subscribeBase);
  const paramName = (s) => (data.legacy ? 'topic' : /\/:[A-Za-z_]/.test(s) ? 'match_urlpattern' : 'match');
  data.topicSelectors.forEach((s) => url.searchParams.append(paramName(s), s));
  url.searchParams.append('match', data.sentinel);
  const event = new URLSearchParams();
  data.updateTopics.forEach((t) => event.append('topic', t));
  event.set('id', data.updateID);
  event.set('data', `data for\n\n        ${data.name}`);
  if (data.private) event.set('private', 'on');

  const received = [];
  const es = new EventSource(url);
  await new Promise((resolve, reject) => { es.onopen = resolve; es.onerror = () => reject(new Error('EventSource failed to open')); });
  const sentinelSeen = new Promise((resolve) => {
    es.onmessage = (e) => {
      received.push({ type: e.type, id: e.lastEventId, data: e.data });
      if (e.data === 'sentinel') resolve();
    };
  });
  const post = async (body) => {
    const resp = await fetch(new URL('/.well-known/mercure', publishBase), { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body });
    return { status: resp.status, contentType: resp.headers.get('Content-Type'), body: await resp.text() };
  };
  const answer = await post(event);
  const sentinel = new URLSearchParams();
  sentinel.set('topic', data.sentinel);
  sentinel.set('data', 'sentinel');
  await post(sentinel);
  await sentinelSeen;
  es.close();
  return { answer, received };
}

function checkDataset(data, { answer, received }) {
  assert.equal(answer.status, 200, JSON.stringify(answer));
  assert.match(answer.contentType, /^text\/plain(?:$|;.*)/);
  assert.equal(answer.body, data.updateID);
  const updates = received.filter((e) => e.data !== 'sentinel');
  if (data.mustBeReceived) {
    assert.deepEqual(updates, [{ type: 'message', id: data.updateID, data: `data for\n\n        ${data.name}` }]);
  } else {
    assert.deepEqual(updates, []);
  }
}

function startRedis(port) {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  return proc;
}

async function waitForPort(port, timeoutMs = 10_000) {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((res) => { const s = connect(port, '127.0.0.1', () => { s.end(); res(true); }); s.on('error', () => res(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
}

/** Resolves once predicate() holds, checking every 10 ms; rejects after timeoutMs. */
async function until(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let browser;
let redis;
let dataDir;
let a;
let b;
let proxy;

const mercureSettings = (origins) => ({
  'Herald:Mercure:Enabled': 'true',
  'Herald:Mercure:JwtKey': SECRET,
  'Herald:Mercure:AllowAnonymous': 'true',
  'Herald:Mercure:Subscriptions': 'true',
  'Herald:Streams:RetryMilliseconds': 200,
  'Herald:Streams:RetryJitterMilliseconds': 100,
  ...Object.fromEntries(origins.map((o, i) => [`Herald:Mercure:CorsOrigins:${i}`, o])),
});

before(async () => {
  const redisPort = await freePort();
  redis = startRedis(redisPort);
  dataDir = mkdtempSync(join(tmpdir(), 'herald-mercure-'));
  const [portA, portB] = [await freePort(), await freePort()];
  const proxyReady = BreakableProxy.start(`http://127.0.0.1:${portB}`);
  proxy = await proxyReady;
  const origins = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`, proxy.baseUrl];
  const shared = { ...mercureSettings(origins), 'Herald:Redis:Url': `redis://127.0.0.1:${redisPort}` };
  await waitForPort(redisPort);
  a = new HeraldServer({ port: portA, dataDir, settings: shared, ownsDataDir: true });
  b = new HeraldServer({ port: portB, dataDir, settings: shared, ownsDataDir: false });
  [browser] = await Promise.all([
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
    a.launch(),
  ]);
  await b.launch();
  proxy.page('/', '<!doctype html><meta charset="utf-8"><title>Mercure conformance</title>');
});

// The processes are stopped whatever happens before, and the browser and proxy steps are bounded: a clean-up that
// never returned (stop() awaited the 'exit' of node B, SIGKILLed by the last test, whose 'exit' had already fired)
// kept node A and Redis alive, and with them the whole test run.
const bounded = (promise, ms = 5000) => Promise.race([Promise.resolve(promise).catch(() => {}), new Promise((r) => setTimeout(r, ms).unref())]);

after(async () => {
  try {
    await bounded(browser?.close());
    await bounded(proxy?.close());
  } finally {
    await b?.dispose();
    await a?.dispose();
    redis?.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    proxy?.server.unref(); // a connection the bounded close left open must not keep the test process alive either
  }
});

async function conformance(subscribeBase, publishBase) {
  const page = await browser.newPage();
  try {
    await page.goto(`${publishBase}/.well-known/mercure/not-a-page`).catch(() => {});
    for (const data of dataset()) {
      data.updateID = `id-${JSON.stringify(data.updateTopics)}-${rnd()}`;
      data.sentinel = `sentinel-${rnd()}`;
      const result = await page.evaluate(runInPage, { data, subscribeBase, publishBase, token: SUITE_TOKEN });
      try {
        checkDataset(data, result);
      } catch (err) {
        err.message = `${data.name}: ${err.message}`;
        throw err;
      }
    }
  } finally {
    await page.close();
  }
}

describe('Mercure conformance in Chromium', () => {
  test('one node: every case of the suite, publisher and subscriber on the page\'s origin', async () => {
    await conformance(a.baseUrl, a.baseUrl);
  });

  test('two nodes: the page subscribes on node B (CORS) and publishes on node A', async () => {
    await conformance(b.baseUrl, a.baseUrl);
  });

  test('subscription events: an EventSource watching the subscriptions topic on node A sees another page\'s EventSource on node B come and go', async () => {
    const watcherPage = await browser.newPage();
    const otherPage = await browser.newPage();
    try {
      const template = '/.well-known/mercure/subscriptions{/topic}{/subscriber}';
      const topic = `urn:watched:${rnd()}`;
      await watcherPage.goto(`${a.baseUrl}/.well-known/mercure/not-a-page`).catch(() => {});
      await watcherPage.evaluate(({ template, token, topic }) => {
        window.seen = [];
        const url = new URL('/.well-known/mercure', location.origin);
        url.searchParams.append('topic', template);
        url.searchParams.append('authorization', token);
        const es = new EventSource(url);
        es.onmessage = (e) => {
          const doc = JSON.parse(e.data);
          if (doc.topic === topic) window.seen.push({ type: e.type, id: doc.id, active: doc.active, subscriber: doc.subscriber, kind: doc.type });
        };
        return new Promise((resolve) => { es.onopen = resolve; });
      }, { template, token: symfonyToken({ mercure: { subscribe: [template] } }), topic });

      await otherPage.goto(`${b.baseUrl}/.well-known/mercure/not-a-page`).catch(() => {});
      await otherPage.evaluate((topic) => {
        const url = new URL('/.well-known/mercure', location.origin);
        url.searchParams.append('match', topic);
        const es = new EventSource(url);
        return new Promise((resolve) => { es.onopen = resolve; });
      }, topic);
      await watcherPage.waitForFunction(() => window.seen.length >= 1, null, { timeout: 10_000 });
      await otherPage.close();
      await watcherPage.waitForFunction(() => window.seen.length >= 2, null, { timeout: 15_000 });
      const seen = await watcherPage.evaluate(() => window.seen);
      assert.equal(seen.length, 2);
      assert.deepEqual(seen.map((s) => [s.type, s.kind, s.active]), [['message', 'Subscription', true], ['message', 'Subscription', false]]);
      assert.equal(seen[0].id, seen[1].id);
      assert.match(seen[0].subscriber, /^urn:uuid:/);
      assert.equal(seen[0].id, `/.well-known/mercure/subscriptions/${encodeURIComponent(topic)}/${encodeURIComponent(seen[0].subscriber)}`);
    } finally {
      await watcherPage.close();
      if (!otherPage.isClosed()) await otherPage.close();
    }
  });

  test('a Symfony-style publisher keeps publishing while the subscriber\'s node dies: nothing lost, nothing repeated', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${proxy.baseUrl}/`);
      const topic = `https://shop.example/books/${rnd()}`;
      await page.evaluate(({ hub, template }) => {
        window.got = [];
        window.opens = 0;
        const url = new URL(hub);
        url.searchParams.append('topic', template);
        const es = new EventSource(url);
        es.onopen = () => { window.opens++; };
        es.onmessage = (e) => window.got.push({ id: e.lastEventId, data: e.data });
      }, { hub: `${proxy.baseUrl}/.well-known/mercure`, template: 'https://shop.example/books/{id}' });
      await page.waitForFunction(() => window.opens === 1, null, { timeout: 10_000 });

      const token = symfonyToken({ mercure: { publish: ['*'] } });
      const published = [];
      let stop = false;
      let failure = null;
      const publisher = (async () => {
        while (!stop) {
          const body = new URLSearchParams({ topic, data: JSON.stringify({ '@id': topic, n: published.length }) });
          try {
            const r = await fetch(`${a.baseUrl}/.well-known/mercure`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body });
            assert.equal(r.status, 200);
            published.push({ id: await r.text(), data: body.get('data') });
          } catch (err) {
            failure = err;
            return;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const publishedAtLeast = (n) => until(() => failure !== null || published.length >= n, 30_000, `${n} updates published`);

      await publishedAtLeast(20);
      await page.waitForFunction(() => window.got.length >= 10, null, { timeout: 10_000 });
      // Node B is lost (SIGKILL, no drain): the proxy sends the EventSource's reconnect to node A.
      proxy.upstream = new URL(a.baseUrl);
      await b.stop('SIGKILL');
      const before = published.length;
      await publishedAtLeast(before + 40);
      await page.waitForFunction(() => window.opens >= 2, null, { timeout: 15_000 });
      stop = true;
      await publisher;
      assert.equal(failure, null);
      await page.waitForFunction((n) => window.got.length >= n, published.length, { timeout: 15_000 });
      const got = await page.evaluate(() => window.got);
      assert.deepEqual(got, published);
    } finally {
      await page.close();
    }
  });
});
