// Issue 17's "done when": examples/apps-node (a Node backend that mints app tokens with jose and serves a page)
// against a real Herald node, the page in headless Chromium (Debian's /usr/bin/chromium via playwright-core). Over
// SSE, WebSocket and long polling, the page receives its own topics and nothing else, and cannot open a foreign one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { HeraldServer, freePort } from './support/herald-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const example = resolve(here, '../../../examples/apps-node');
const SECRET = 'app-secret-of-the-example-test-0123456789abcdef';
const API_KEY = 'service-key-of-the-example-test';

let herald;
let app;
let appUrl;
let browser;

before(async () => {
  // Never skipped: without its dependency the example cannot run, and that is a failure to fix (npm ci there).
  assert.ok(existsSync(join(example, 'node_modules/jose')), `run "npm ci" in ${example} first (scripts/test.sh does)`);
  [herald, browser] = await Promise.all([
    HeraldServer.start({ 'Herald:AppTokens:Keys:0:Secret': SECRET, 'Herald:Auth:ApiKeys:0': API_KEY }),
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
  ]);
  const port = await freePort();
  appUrl = `http://127.0.0.1:${port}`;
  app = spawn(process.execPath, [join(example, 'server.mjs')], {
    cwd: example,
    env: { ...process.env, APP_SECRET: SECRET, HERALD_URL: herald.baseUrl, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the example did not start in 15 s: ' + output)), 15_000);
    const onData = (d) => {
      output += d;
      if (output.includes('app example on')) {
        clearTimeout(timer);
        res();
      }
    };
    app.stdout.on('data', onData);
    app.stderr.on('data', onData);
    app.on('exit', (code) => rej(new Error(`the example exited (${code}): ${output}`)));
  });
});

after(async () => {
  await browser?.close();
  if (app && app.exitCode === null) {
    const exited = new Promise((res) => app.once('exit', res));
    app.kill('SIGTERM');
    await exited;
  }
  await herald?.dispose();
});

async function publish(topic, data) {
  const r = await herald.json('POST', '/api/publish', { topic, event: 'note', data }, { 'X-Api-Key': API_KEY });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

for (const transport of ['sse', 'websocket', 'poll']) {
  test(`the example page receives its own topics and nothing else over ${transport}`, async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${appUrl}/?user=42&transport=${transport}`);
      await page.waitForFunction(() => window.states && window.states.includes('open'), null, { timeout: 15_000 });
      // A socket is 'open' when the upgrade completes, a moment before Herald has subscribed it: probe until an
      // event arrives, then judge only what follows.
      let probe = null;
      for (let attempt = 0; attempt < 20 && probe === null; attempt++) {
        const id = await publish('user:42', { probe: attempt });
        try {
          await page.waitForFunction((want) => window.received.some((e) => e.id === want), id, { timeout: 1_000 });
          probe = id;
        } catch {
          // not subscribed yet; the next probe decides
        }
      }
      assert.ok(probe !== null, 'no probe event reached the page in 20 tries');

      await publish('user:43', { text: 'not yours' });
      await publish('news:sports', { text: 'not subscribed' });
      const mine = await publish('user:42', { text: `hello 42 over ${transport}` });
      const news = await publish('news:general', { text: 'for everyone' });
      await page.waitForFunction((id) => window.received.some((e) => e.id === id), news, { timeout: 15_000 });

      const received = await page.evaluate((after) => window.received.filter((e) => e.id != null && e.id > after), probe);
      assert.deepEqual(received.map((e) => e.id), [mine, news]);
      assert.equal(received[0].data.text, `hello 42 over ${transport}`);
      assert.deepEqual(await page.evaluate(() => window.errors), []);
      assert.equal(await page.evaluate(() => window.transport), transport, 'the page used the transport it asked for');

      // The same token does not open another user's topic: 403 naming it.
      const refused = await page.evaluate(async () => {
        const token = (await (await fetch('/herald-token?user=42')).json()).token;
        const r = await fetch('/api/events?topic=user:43', { headers: { Authorization: 'Bearer ' + token } });
        return { status: r.status, body: await r.json() };
      });
      assert.equal(refused.status, 403);
      assert.match(refused.body.detail, /'user:43'/);
    } finally {
      await page.close();
    }
  });
}
