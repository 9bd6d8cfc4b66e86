// What people see, in headless Chromium (Debian's /usr/bin/chromium via playwright-core) against a real Herald node
// in Development: the widget on /demo (and on a page of another origin), the operator console, a restart of the
// server mid-conversation, a wrong-domain page, a phone-sized viewport and keyboard-only use. Screenshots go to
// clients/js/test-results/ (gitignored).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeraldServer } from './support/herald-server.mjs';
import { launchChromium, newWatchedPage, WidgetPage, ConsolePage } from './support/ui-pages.mjs';

const results = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');
mkdirSync(results, { recursive: true });
const shot = (page, name) => page.screenshot({ path: join(results, `ui-${name}.png`) });

let server;
let browser;
let operatorToken;

before(async () => {
  [server, browser] = await Promise.all([
    // A short retry so reconnects after the restart do not wait Herald's default 5-7.5 s.
    HeraldServer.start({ 'Herald:Streams:RetryMilliseconds': 300, 'Herald:Streams:RetryJitterMilliseconds': 200 }),
    launchChromium(),
  ]);
  operatorToken = await server.login();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

const newPage = (label, options) => newWatchedPage(browser, label, options);

async function dialogs() {
  const r = await server.json('GET', '/api/dialogs?include_empty=true', undefined, { Authorization: `Bearer ${operatorToken}` });
  assert.equal(r.status, 200);
  return r.body;
}

/** Every text shown exactly once, every shown message stored (has an id), ids unique, in id order. */
function assertExactlyOnce(list, expected, where) {
  const texts = list.map((m) => m.text);
  for (const t of expected) assert.equal(texts.filter((x) => x === t).length, 1, `${where}: "${t}" shown ${texts.filter((x) => x === t).length} times`);
  assert.equal(list.length, expected.length, `${where}: ${list.length} messages shown, expected ${expected.length}: ${JSON.stringify(texts)}`);
  assert.ok(list.every((m) => m.id && !m.pending), `${where}: a message is still pending`);
  const ids = list.map((m) => Number(m.id));
  assert.equal(new Set(ids).size, ids.length, `${where}: a message id is shown twice`);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `${where}: not in id order`);
}

/** A visitor on /demo who has said something, and an operator with that dialog open. */
async function conversation(name, first) {
  const operator = new ConsolePage(await newPage(`${name} console`));
  await operator.login(server.baseUrl);
  const visitor = new WidgetPage(await newPage(`${name} widget`));
  await visitor.page.goto(`${server.baseUrl}/demo`);
  await visitor.open();
  await visitor.send(first);
  await visitor.waitForMessage(first);
  const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
  assert.ok(dialogId > 0);
  return { operator, visitor, dialogId };
}

describe('widget and console in Chromium', () => {
  test('a visitor writes in the widget, the console shows it live; the reply shows in the widget', async () => {
    const operator = new ConsolePage(await newPage('console'));
    await operator.login(server.baseUrl);
    await operator.connection.filter({ hasText: 'Live' }).waitFor({ timeout: 5000 });

    const visitor = new WidgetPage(await newPage('widget'));
    await visitor.page.goto(`${server.baseUrl}/demo`);
    assert.equal(await visitor.launcher.getAttribute('aria-expanded'), 'false');
    await visitor.open();
    assert.equal(await visitor.launcher.getAttribute('aria-expanded'), 'true');
    await visitor.waitForConnection('open');
    await visitor.send('Hello! Do you ship to Lisbon?');
    await visitor.waitForMessage('Hello! Do you ship to Lisbon?');
    const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);

    // The new dialog appears in the list without a reload, with its preview and unread count.
    const row = operator.row(dialogId);
    await row.filter({ hasText: 'Hello! Do you ship to Lisbon?' }).waitFor({ timeout: 10_000 });
    assert.equal((await row.locator('.unread').textContent()).trim(), '1');
    assert.match(await row.textContent(), /1 unread/);

    await operator.openDialog(dialogId);
    await operator.waitForMessage('Hello! Do you ship to Lisbon?');
    // Opening marks it read; the feed's dialog_update clears the badge.
    await row.locator('.unread').waitFor({ state: 'hidden', timeout: 10_000 });

    await operator.send('Hi! Yes, we ship to Portugal in 2–3 days.');
    await visitor.waitForMessage('Hi! Yes, we ship to Portugal in 2–3 days.');
    await operator.waitForMessage('Hi! Yes, we ship to Portugal in 2–3 days.');
    // The reply is announced to screen readers in the widget.
    // Announced with the operator's display name (admin@herald.local has none set: "Admin", never the email).
    assert.match(await visitor.host.locator('[data-announcer]').textContent(), /^Admin: Hi! Yes/);

    // The visitor typing shows in the console (typing is throttled to one signal per 3 s: type like a person).
    await Promise.all([
      operator.page.locator('#typing').waitFor({ state: 'visible', timeout: 10_000 }),
      visitor.input.pressSequentially('And to Porto, by the way?', { delay: 150 }),
    ]);
    await visitor.input.fill('');

    const expected = ['Hello! Do you ship to Lisbon?', 'Hi! Yes, we ship to Portugal in 2–3 days.'];
    assertExactlyOnce(await visitor.list(), expected, 'widget');
    assertExactlyOnce(await operator.list(), expected, 'console');
    assert.deepEqual((await visitor.list()).map((m) => m.sender), ['user', 'manager']);
    await shot(visitor.page, 'widget');
    await shot(operator.page, 'console');
    assert.deepEqual([...visitor.page.problems, ...operator.page.problems], []);
    await visitor.page.context().close();
    await operator.page.context().close();
  });

  test('history that loads after a live message never replaces it (seed 000: messages appear and disappear)', async () => {
    const { operator, visitor, dialogId } = await conversation('merge', 'First question');
    // Hold the console's history answer — computed before the next message exists — until that message is shown.
    let release;
    const gate = new Promise((r) => (release = r));
    await operator.page.route(new RegExp(`/api/dialogs/${dialogId}/messages\\?`), async (route) => {
      const stale = await route.fetch();
      await gate;
      await route.fulfill({ response: stale });
    });
    const requested = operator.page.waitForRequest(new RegExp(`/api/dialogs/${dialogId}/messages\\?`));
    await operator.openDialog(dialogId);
    await requested;
    await visitor.send('Second question, sent while the history loads');
    await operator.waitForMessage('Second question, sent while the history loads');
    release();
    await operator.waitForMessage('First question');
    await operator.page.unroute(new RegExp(`/api/dialogs/${dialogId}/messages\\?`));
    // The dialog's own stream starts at the position taken before the history and replays the second message:
    // still shown once.
    await operator.page.waitForFunction(() => document.querySelectorAll('#messages li.msg').length >= 2);
    assertExactlyOnce(await operator.list(), ['First question', 'Second question, sent while the history loads'], 'console');
    await visitor.page.context().close();
    await operator.page.context().close();
  });

  test('a wrong-domain page cannot use the widget; allowed pages on another origin can (site token, guest mode)', async () => {
    // A second origin: 127.0.0.2 is loopback but not "localhost"/"127.0.0.1", which Development allows anywhere.
    const auth = { Authorization: `Bearer ${operatorToken}` };
    const assistant = (await server.json('POST', '/api/assistants', { name: 'Elsewhere shop' }, auth)).body;
    // Guest mode (data-assistant-id) checks the assistant's own domains. Set before the tokens: editing an
    // assistant's domains retires the tokens issued earlier ("domains changed").
    assert.equal((await server.json('PUT', `/api/assistants/${assistant.id}/domains`, { allowed_domains: ['127.0.0.2'] }, auth)).status, 200);
    const wrong = (await server.json('POST', '/api/widgets', { assistant_id: assistant.id, allowed_domains: ['shop.example.com'] }, auth)).body;
    const right = (await server.json('POST', '/api/widgets', { assistant_id: assistant.id, allowed_domains: ['127.0.0.2'] }, auth)).body;
    const page = (attributes) => `<!doctype html><meta charset="utf-8"><title>Elsewhere</title><h1>Another site</h1>
      <script src="${server.baseUrl}/widget.js" ${attributes} async></script>`;
    const pages = {
      '/wrong.html': page(`data-site-token="${wrong.token}"`),
      '/right.html': page(`data-site-token="${right.token}"`),
      '/guest.html': page(`data-assistant-id="${assistant.id}"`),
    };
    const site = createServer((req, res) => {
      const body = pages[req.url];
      res.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(body || 'not found');
    });
    await new Promise((r) => site.listen(0, '127.0.0.2', r));
    const origin = `http://127.0.0.2:${site.address().port}`;
    try {
      const before = (await dialogs()).filter((d) => d.assistant_id === assistant.id).length;
      const visitor = new WidgetPage(await newPage('wrong-domain widget'));
      await visitor.page.goto(`${origin}/wrong.html`);
      await visitor.open();
      await visitor.waitForConnection('error');
      await visitor.alert.waitFor({ state: 'visible' });
      assert.match(await visitor.alert.textContent(), /not available on this site \(domain not allowed\)/);
      assert.equal(await visitor.input.isDisabled(), true);
      await visitor.host.locator('.launcher .warn').waitFor({ state: 'visible' });
      // Not just the UI: the browser cannot open a dialog from this origin even by hand (403, and no CORS grant).
      const direct = await visitor.page.evaluate(async ([base, token]) => {
        try {
          const r = await fetch(`${base}/api/widget/dialogs?site_token=${token}&guest_id=intruder`, { method: 'POST' });
          return `status ${r.status}`;
        } catch (err) {
          return `blocked: ${err.name}`;
        }
      }, [server.baseUrl, wrong.token]);
      assert.equal(direct, 'blocked: TypeError');
      await shot(visitor.page, 'wrong-domain');
      assert.equal((await dialogs()).filter((d) => d.assistant_id === assistant.id).length, before, 'a dialog was created from a wrong domain');
      await visitor.page.context().close();

      // The same page on an allowed domain: cross-origin embedding works (CORS for that origin only).
      const allowed = new WidgetPage(await newPage('other-origin widget'));
      await allowed.page.goto(`${origin}/right.html`);
      await allowed.open();
      await allowed.waitForConnection('open');
      await allowed.send('Hello from another origin');
      await allowed.waitForMessage('Hello from another origin');
      assert.equal((await dialogs()).filter((d) => d.assistant_id === assistant.id).length, before + 1);
      assert.deepEqual(allowed.page.problems, []);
      await allowed.page.context().close();

      // Guest mode from the same origin: allowed by the assistant's domains.
      const guest = new WidgetPage(await newPage('guest-mode widget'));
      await guest.page.goto(`${origin}/guest.html`);
      await guest.open();
      await guest.send('Hello in guest mode');
      await guest.waitForMessage('Hello in guest mode');
      assert.equal((await dialogs()).filter((d) => d.assistant_id === assistant.id).length, before + 2);
      assert.deepEqual(guest.page.problems, []);
      await guest.page.context().close();
    } finally {
      site.closeAllConnections();
      await new Promise((r) => site.close(r));
    }
  });

  test('phone viewport: full-screen panel, keyboard only: Tab to the launcher, Enter, type, Enter, Escape', async () => {
    const visitor = new WidgetPage(await newPage('mobile widget', { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true }));
    await visitor.page.goto(`${server.baseUrl}/demo`);
    await visitor.launcher.waitFor();
    const focusedLauncher = () =>
      visitor.page.evaluate(() => document.activeElement?.tagName === 'HERALD-WIDGET' && document.activeElement.shadowRoot.activeElement?.classList.contains('launcher'));
    // The widget is the last thing on the page: Tab until the launcher has focus.
    for (let i = 0; i < 60 && !(await focusedLauncher()); i++) await visitor.page.keyboard.press('Tab');
    assert.ok(await focusedLauncher(), 'Tab never reached the launcher');
    await visitor.page.keyboard.press('Enter');
    await visitor.panel.waitFor({ state: 'visible' });
    // Focus moves into the composer; the panel covers the whole screen and the launcher steps aside.
    assert.ok(await visitor.page.evaluate(() => document.querySelector('herald-widget').shadowRoot.activeElement?.tagName === 'TEXTAREA'));
    // The panel slides in (a 160 ms animation): measure where it comes to rest, not a frame of the slide.
    await visitor.panel.evaluate((panel) => Promise.all(panel.getAnimations().map((a) => a.finished)));
    const box = await visitor.panel.boundingBox();
    assert.deepEqual([box.x, box.y, box.width, Math.round(box.height)], [0, 0, 375, 667]);
    assert.equal(await visitor.launcher.isVisible(), false);
    await visitor.waitForConnection('open');
    await visitor.page.keyboard.type('Typed on a phone, sent with Enter');
    await visitor.page.keyboard.press('Enter');
    await visitor.waitForMessage('Typed on a phone, sent with Enter');
    await shot(visitor.page, 'mobile');
    await visitor.page.keyboard.press('Escape');
    await visitor.panel.waitFor({ state: 'hidden' });
    assert.ok(await focusedLauncher(), 'focus did not return to the launcher');
    assert.equal(await visitor.launcher.getAttribute('aria-expanded'), 'false');
    assert.deepEqual(visitor.page.problems, []);
    await visitor.page.context().close();
  });

  test('an expiring session asks for the password and keeps the console connected', async () => {
    // Tokens that live 25 s and warn 20 s ahead: the prompt comes about 5 s after signing in.
    const short = await HeraldServer.start({ 'Herald:Auth:TokenLifetime': '00:00:25', 'Herald:Streams:AuthWarningLead': '00:00:20' });
    try {
      const operator = new ConsolePage(await newPage('expiring console'));
      await operator.login(short.baseUrl);
      await operator.recordConnection();
      const prompt = operator.page.locator('#relogin');
      await prompt.waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await operator.page.locator('#session-banner').isVisible(), true);
      await operator.page.locator('#relogin-password').fill('wrong password');
      await operator.page.locator('#relogin-form button[type=submit]').click();
      await operator.page.locator('#relogin-error', { hasText: 'Wrong password' }).waitFor();
      await operator.page.locator('#relogin-password').fill('herald-dev-password');
      await operator.page.locator('#relogin-form button[type=submit]').click();
      await prompt.waitFor({ state: 'hidden' });
      await operator.page.locator('#session-banner').waitFor({ state: 'hidden' });
      // Still the same stream (extended in place, nothing to reconnect), and it still delivers.
      const visitor = new WidgetPage(await newPage('expiring widget'));
      await visitor.page.goto(`${short.baseUrl}/demo`);
      await visitor.open();
      await visitor.send('Hello after the session was renewed');
      await operator.rows.filter({ hasText: 'Hello after the session was renewed' }).waitFor({ timeout: 10_000 });
      assert.deepEqual(await operator.connectionStates(), ['open']);
      await visitor.page.context().close();
      await operator.page.context().close();
    } finally {
      await short.dispose();
    }
  });

  test('a token the server refuses sends the console back to the sign-in form', async () => {
    const operator = new ConsolePage(await newPage('refused console'));
    // A well-formed token that has not expired, with a signature Herald did not make.
    const [header, payload] = operatorToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    await operator.page.addInitScript((t) => localStorage.setItem('herald.console.token', t), forged);
    await operator.page.goto(`${server.baseUrl}/console`);
    await operator.page.locator('#login-error', { hasText: 'Your session has ended' }).waitFor({ timeout: 10_000 });
    assert.equal(await operator.page.locator('#app').isVisible(), false);
    assert.equal(await operator.page.evaluate(() => localStorage.getItem('herald.console.token')), null);
    await operator.page.context().close();
  });

  test('a flood of opened dialogs leaves the visitors who wrote on the console list, live and after a reload', async () => {
    const { operator, visitor, dialogId } = await conversation('flood', 'Anyone there? (before the flood)');
    await operator.row(dialogId).waitFor({ timeout: 10_000 });
    const assistantId = (await dialogs()).find((d) => d.id === dialogId).assistant_id;
    const open = (guest) => server.json('POST', `/api/widget/dialogs?assistant_id=${assistantId}&guest_id=${guest}`);
    for (let i = 0; i < 120; i += 20) {
      const opened = await Promise.all(Array.from({ length: 20 }, (_, j) => open(`flood-${i + j}`)));
      assert.ok(opened.every((r) => r.status === 201), 'a flood dialog was not created');
    }

    // A visitor who writes after the flood: once that row shows, the console has had every flood event before it.
    const late = await open('late-writer');
    const posted = await server.json('POST', `/api/widget/dialogs/${late.body.id}/messages?assistant_id=${assistantId}&guest_id=late-writer`, { text: 'After the flood' });
    assert.equal(posted.status, 201);
    const withMessages = async () => (await dialogs()).filter((d) => d.last_message_at).map((d) => d.id);
    for (const phase of ['live', 'reloaded']) {
      await operator.row(late.body.id).filter({ hasText: 'After the flood' }).waitFor({ timeout: 10_000 });
      const shown = await operator.rows.evaluateAll((bs) => bs.map((b) => Number(b.dataset.dialogId)));
      assert.equal(shown[0], late.body.id, `${phase}: the latest conversation is not first`);
      assert.ok(shown.includes(dialogId), `${phase}: the visitor who wrote before the flood was pushed off the list`);
      assert.deepEqual([...shown].sort((a, b) => a - b), (await withMessages()).sort((a, b) => a - b), `${phase}: rows other than the conversations`);
      if (phase === 'live') {
        await operator.page.reload();
        await operator.waitForConnection('open');
      }
    }
    assert.deepEqual([...visitor.page.problems, ...operator.page.problems], []);
    await visitor.page.context().close();
    await operator.page.context().close();
  });

  // Last: it restarts the shared server.
  test('the server restarts mid-conversation: both sides recover, every message shown exactly once', async () => {
    const { operator, visitor, dialogId } = await conversation('restart', 'Before the restart (visitor)');
    await operator.openDialog(dialogId);
    await operator.waitForMessage('Before the restart (visitor)');
    await operator.send('Before the restart (operator)');
    await visitor.waitForMessage('Before the restart (operator)');
    await visitor.recordConnection();
    await operator.recordConnection();
    // Keep the widget's stream away for a while after the restart, so that it misses more than the server will
    // replay (MaxReplayEvents=3 after the restart): it must get a reset and rebuild from history, still once each.
    const stream = /\/api\/dialogs\/\d+\/(events|poll)/;
    await visitor.page.route(stream, (route) => route.abort());

    await server.stop();
    // Both notice: the streams broke.
    await visitor.page.waitForFunction(() => window.__connectionStates.some((s) => s === 'reconnecting' || s === 'offline'), null, { timeout: 15_000 });
    await operator.page.waitForFunction(() => window.__connectionStates.some((s) => s === 'reconnecting' || s === 'offline'), null, { timeout: 15_000 });
    // Sent while the server is down: kept as pending and delivered once it is back (idempotently).
    await visitor.send('While the server is down (visitor)');
    await visitor.host.locator('li.msg[data-pending]', { hasText: 'While the server is down (visitor)' }).waitFor();
    await shot(visitor.page, 'restart-widget-down');
    server.settings['Herald:Streams:MaxReplayEvents'] = 3;
    await server.launch();

    await operator.waitForConnection('open', 30_000);
    await visitor.waitForMessage('While the server is down (visitor)', 30_000);
    await operator.waitForMessage('While the server is down (visitor)', 30_000);
    const missed = ['Missed by the widget 1', 'Missed by the widget 2', 'Missed by the widget 3'];
    for (const text of missed) {
      await operator.send(text);
      await operator.waitForMessage(text);
    }
    const fullReloads = [];
    visitor.page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname === `/api/widget/dialogs/${dialogId}/messages` && !url.searchParams.has('after_id')) fullReloads.push(url.href);
    });
    await visitor.page.unroute(stream);
    // What the browser fires when connectivity returns: herald.js reconnects at once instead of waiting its backoff.
    await visitor.page.evaluate(() => window.dispatchEvent(new Event('online')));
    await visitor.waitForConnection('open', 30_000);
    for (const text of missed) await visitor.waitForMessage(text, 20_000);
    assert.ok(fullReloads.length >= 1, 'the widget did not reload its history after the reset');

    await operator.send('After the restart (operator)');
    await visitor.send('After the restart (visitor)');
    const expected = [
      'Before the restart (visitor)',
      'Before the restart (operator)',
      'While the server is down (visitor)',
      ...missed,
      'After the restart (operator)',
      'After the restart (visitor)',
    ];
    for (const text of expected.slice(-2)) {
      await visitor.waitForMessage(text, 20_000);
      await operator.waitForMessage(text, 20_000);
    }
    assertExactlyOnce(await visitor.list(), expected, 'widget');
    assertExactlyOnce(await operator.list(), expected, 'console');
    // The store agrees: nothing posted twice by the retried send.
    const stored = await server.json('GET', `/api/dialogs/${dialogId}/messages`, undefined, { Authorization: `Bearer ${await server.login()}` });
    assert.deepEqual(stored.body.map((m) => m.text), expected);
    assert.equal(await operator.row(dialogId).count(), 1, 'the dialog is listed more than once');
    // The open dialog's live messages are marked read (a moment after they arrive): the screenshot shows no badge.
    await operator.row(dialogId).locator('.unread').waitFor({ state: 'hidden', timeout: 10_000 });
    await shot(visitor.page, 'restart-widget');
    await shot(operator.page, 'restart-console');
    await visitor.page.context().close();
    await operator.page.context().close();
  });
});
