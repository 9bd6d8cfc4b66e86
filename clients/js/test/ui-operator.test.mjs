// An operator's day in the console, in headless Chromium against a real Herald node (issue 19, items 7, 9, 11): the
// sign-in outlives the tab (and ends everywhere at once), empty dialogs say what they are, links in messages are
// clickable and safe, long threads have date separators, and visitors' own ids are shown whole.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HeraldServer } from './support/herald-server.mjs';
import { launchChromium, newWatchedPage, WidgetPage, ConsolePage } from './support/ui-pages.mjs';

let server;
let browser;
let operatorToken;

before(async () => {
  [server, browser] = await Promise.all([HeraldServer.start(), launchChromium()]);
  operatorToken = await server.login();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

const newPage = (label, context) => newWatchedPage(browser, label, { context });

/** A signed-in console and a visitor with the widget open on /demo (`path`, reached with `gotoOptions`). */
async function operatorAndVisitor(name, path = '/demo', gotoOptions = {}) {
  const operator = new ConsolePage(await newPage(`${name} console`));
  await operator.login(server.baseUrl);
  const visitor = new WidgetPage(await newPage(`${name} widget`));
  await visitor.page.goto(server.baseUrl + path, gotoOptions);
  await visitor.open();
  return { operator, visitor };
}

/** Neither page logged an error; both are closed. */
async function done(...sides) {
  assert.deepEqual(sides.flatMap((s) => s.page.problems), []);
  for (const s of sides) await s.page.context().close();
}

const auth = () => ({ Authorization: `Bearer ${operatorToken}` });

describe('the console for an operator, in Chromium', () => {
  // First: it needs a server where nobody has written yet.
  test('no conversations yet, and a dialog nobody wrote in: each pane says what it is; the list stays empty', async () => {
    const operator = new ConsolePage(await newPage('empty console'));
    await operator.login(server.baseUrl);
    await operator.page.locator('#placeholder', { hasText: 'No conversations yet' }).waitFor({ timeout: 5000 });
    // A visitor opens the chat and writes nothing: no row for it.
    const visitor = new WidgetPage(await newPage('silent widget'));
    await visitor.page.goto(`${server.baseUrl}/demo`);
    await visitor.open();
    await visitor.waitForConnection('open');
    const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
    assert.ok(dialogId > 0);
    // Opened by its address (a link from a colleague), the empty thread says what it is.
    await operator.page.goto(`${server.baseUrl}/console#dialog-${dialogId}`);
    await operator.page.reload();
    await operator.page.locator('#thread').waitFor({ state: 'visible', timeout: 10_000 });
    await operator.waitForConnection('open');
    await operator.page.locator('#messages li.empty', { hasText: 'No messages in this dialog yet' }).waitFor({ timeout: 10_000 });
    assert.equal(await operator.rows.count(), 0, 'an empty dialog is listed');
    // The first message takes the empty text away and lists the dialog.
    await visitor.send('Now I write');
    await operator.waitForMessage('Now I write');
    assert.equal(await operator.page.locator('#messages li.empty').isVisible(), false);
    await operator.row(dialogId).waitFor({ timeout: 10_000 });
    await done(operator, visitor);
  });

  test('the sign-in outlives the tab; signing out in one tab signs out all; an expired one is not used', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const first = new ConsolePage(await newPage('first tab', context));
    await first.login(server.baseUrl);
    const kept = await first.page.evaluate(() => localStorage.getItem('herald.console.token'));
    assert.ok(kept, 'the sign-in is not kept');

    // Another tab (a link opened in a new tab, or the browser restarted with the same profile) is signed in.
    const second = new ConsolePage(await newPage('second tab', context));
    await second.page.goto(`${server.baseUrl}/console`);
    await second.waitForConnection('open');
    assert.equal(await second.page.locator('#who').textContent(), 'admin@herald.local');
    assert.equal(await second.page.locator('#login').isVisible(), false);

    // Signing out in one tab ends the sign-in everywhere.
    await second.page.locator('#logout').click();
    await second.page.locator('#login').waitFor({ state: 'visible' });
    await first.page.locator('#login-error', { hasText: 'Signed out in another tab' }).waitFor({ timeout: 5000 });
    assert.equal(await first.page.evaluate(() => localStorage.getItem('herald.console.token')), null);
    await context.close();

    // A kept token past its expiry is dropped, not used.
    const [header, payload, signature] = kept.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const expired = [header, Buffer.from(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 })).toString('base64url'), signature].join('.');
    const stale = new ConsolePage(await newPage('expired sign-in'));
    await stale.page.goto(`${server.baseUrl}/console`);
    await stale.page.evaluate((t) => localStorage.setItem('herald.console.token', t), expired);
    await stale.page.reload();
    await stale.page.locator('#login').waitFor({ state: 'visible' });
    assert.equal(await stale.page.evaluate(() => localStorage.getItem('herald.console.token')), null);
    assert.deepEqual([...first.page.problems, ...second.page.problems, ...stale.page.problems], []);
    await stale.page.context().close();
  });

  test('links in messages are clickable on both sides, and only http(s) ones; markup stays text', async () => {
    const { operator, visitor } = await operatorAndVisitor('links');
    const text = 'Order: https://shop.example.com/orders/1042?x=1&y=2. Not this: javascript:alert(1) nor <a href="javascript:alert(2)">x</a> (see http://127.0.0.1/faq)';
    await visitor.send(text);
    await visitor.waitForMessage('Order:');
    const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
    await operator.openDialog(dialogId);
    await operator.waitForMessage('Order:');
    const read = (bubbles) =>
      bubbles.evaluateAll((lis) =>
        lis.map((li) => ({
          text: li.querySelector('.text').textContent,
          links: [...li.querySelectorAll('a')].map((a) => ({ href: a.getAttribute('href'), text: a.textContent, target: a.target, rel: a.rel })),
          elements: [...li.querySelector('.text').querySelectorAll('*')].map((e) => e.tagName),
        })),
      );
    const expected = {
      text,
      links: [
        { href: 'https://shop.example.com/orders/1042?x=1&y=2', text: 'https://shop.example.com/orders/1042?x=1&y=2', target: '_blank', rel: 'noopener noreferrer nofollow' },
        { href: 'http://127.0.0.1/faq', text: 'http://127.0.0.1/faq', target: '_blank', rel: 'noopener noreferrer nofollow' },
      ],
      elements: ['A', 'A'],
    };
    assert.deepEqual(await read(visitor.host.locator('li.msg[data-message-id]', { hasText: 'Order:' })), [expected]);
    assert.deepEqual(await read(operator.page.locator('#messages li.msg[data-message-id]', { hasText: 'Order:' })), [expected]);
    await done(operator, visitor);
  });

  test('a long thread has a date separator before the first message of each day, whatever order they load in', async () => {
    // The live thread: today's messages under "Today".
    const { operator, visitor } = await operatorAndVisitor('days');
    await visitor.send('A message of today');
    await visitor.waitForMessage('A message of today');
    const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
    await operator.openDialog(dialogId);
    await operator.waitForMessage('A message of today');
    const shown = (list) => list.evaluate((ol) => [...ol.children].filter((li) => !li.hidden).map((li) => (li.classList.contains('day') ? `— ${li.textContent} —` : li.querySelector('.text').textContent)));
    assert.deepEqual(await shown(operator.page.locator('#messages')), ['— Today —', 'A message of today']);
    assert.deepEqual(await shown(visitor.host.locator('.messages')), ['— Today —', 'A message of today']);

    // Older days cannot be posted (the server stamps the time), so the console's own list code (chat-view.js, as
    // the page loaded it) is given stored messages of three days, history after live, as a reconnect delivers them.
    const order = await operator.page.evaluate(async () => {
      const { MessageList } = await import('/chat-view.js');
      const ol = document.createElement('ol');
      document.body.append(ol);
      const list = new MessageList(ol, { label: (s) => s, timeText: () => '' });
      const at = (daysAgo, h) => {
        const d = new Date();
        d.setDate(d.getDate() - daysAgo);
        d.setHours(h, 0, 0, 0);
        return d.toISOString();
      };
      const m = (id, daysAgo, h) => ({ id, dialog_id: 1, sender: 'user', text: `m${id}`, created_at: at(daysAgo, h) });
      for (const x of [m(6, 0, 9), m(2, 5, 10), m(4, 1, 12), m(1, 5, 9), m(5, 1, 13), m(3, 5, 11), m(7, 0, 10)]) list.merge(x);
      const seen = [...ol.children].map((li) => (li.classList.contains('day') ? li.textContent : li.querySelector('.text').textContent));
      ol.remove();
      const fiveDaysAgo = new Date(at(5, 9)).toLocaleDateString([], new Date(at(5, 9)).getFullYear() === new Date().getFullYear() ? { weekday: 'long', month: 'long', day: 'numeric' } : { year: 'numeric', month: 'long', day: 'numeric' });
      return { seen, fiveDaysAgo };
    });
    assert.deepEqual(order.seen, [order.fiveDaysAgo, 'm1', 'm2', 'm3', 'Yesterday', 'm4', 'm5', 'Today', 'm6', 'm7']);
    await done(operator, visitor);
  });

  test("the console shows where the visitor writes from: page, referrer and browser", async () => {
    const { operator, visitor } = await operatorAndVisitor('context', '/demo?product=arare#reviews', { referer: 'https://www.example.org/search?q=teapot' });
    await visitor.send('Where am I?');
    await visitor.waitForMessage('Where am I?');
    const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
    await operator.openDialog(dialogId);
    await operator.waitForMessage('Where am I?');
    const line = operator.page.locator('#visitor');
    await line.filter({ hasText: 'Chrome' }).waitFor({ timeout: 10_000 });
    const text = await line.textContent();
    assert.match(text, new RegExp(`^On ${server.baseUrl.replace('http://', '').replace(/\./g, '\\.')}/demo\\?product=arare · from www\\.example\\.org(/\\S*)? · Chrome \\d+ on Linux$`));
    assert.equal(await line.locator('a').getAttribute('href'), `${server.baseUrl}/demo?product=arare`);
    assert.equal(await line.locator('a').getAttribute('rel'), 'noopener noreferrer nofollow');
    await done(operator, visitor);
  });

  test('a message the operator is not looking at chimes and, once allowed, notifies; permission is asked once', async () => {
    // Not allowed yet: the console offers to turn notifications on, asks once, and never offers again.
    const asking = new ConsolePage(await newPage('asking console'));
    await asking.login(server.baseUrl);
    await asking.page.locator('#notify').waitFor({ state: 'visible', timeout: 5000 });
    await asking.page.locator('#notify').click();
    await asking.page.locator('#notify').waitFor({ state: 'hidden' });
    await asking.page.reload();
    await asking.waitForConnection('open');
    assert.equal(await asking.page.locator('#notify').isVisible(), false, 'asked a second time');
    await asking.page.context().close();

    // Allowed: what the console makes is recorded (the real Notification and Web Audio still run).
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['notifications'], { origin: server.baseUrl });
    await context.addInitScript(() => {
      window.__notices = [];
      window.__chimes = 0;
      const Real = window.Notification;
      window.Notification = class extends Real {
        constructor(title, options) {
          super(title, options);
          window.__notices.push({ title, body: options && options.body, tag: options && options.tag });
        }
      };
      const start = OscillatorNode.prototype.start;
      OscillatorNode.prototype.start = function (...args) {
        window.__chimes++;
        return start.apply(this, args);
      };
    });
    const operator = new ConsolePage(await newPage('notified console', context));
    await operator.login(server.baseUrl);
    assert.equal(await operator.page.locator('#notify').isVisible(), false);
    const visitor = new WidgetPage(await newPage('notifying widget'));
    await visitor.page.goto(`${server.baseUrl}/demo`);
    await visitor.open();
    await visitor.send('Is anyone there? (a new dialog)');
    await visitor.waitForMessage('Is anyone there?');
    const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
    await operator.page.waitForFunction(() => window.__notices.length === 1, null, { timeout: 10_000 });
    assert.deepEqual(await operator.page.evaluate(() => window.__notices), [{ title: 'New dialog', body: 'Is anyone there? (a new dialog)', tag: `herald-dialog-${dialogId}` }]);
    assert.equal(await operator.page.evaluate(() => window.__chimes), 1);
    // Looking at that dialog: its next message is on screen, no notice.
    await operator.openDialog(dialogId);
    await visitor.send('Second line, while the operator reads');
    await operator.waitForMessage('Second line');
    assert.equal(await operator.page.evaluate(() => window.__notices.length), 1);
    assert.equal(await operator.page.evaluate(() => window.__chimes), 1);
    assert.deepEqual([...operator.page.problems, ...visitor.page.problems], []);
    await context.close();
    await visitor.page.context().close();
  });

  test("visitors named by a site's own id are shown whole; the widget's UUIDs by their first 8 digits", async () => {
    const assistant = (await server.json('POST', '/api/assistants', { name: 'Names' }, auth())).body;
    const ids = ['user-1042.shop_a', 'user-1042.shop_b', '3f2a9c1e-5b7d-4e2f-9a1b-0c3d5e7f9a2b'];
    for (const guest of ids) {
      const d = await server.json('POST', `/api/widget/dialogs?assistant_id=${assistant.id}&guest_id=${guest}`);
      const posted = await server.json('POST', `/api/widget/dialogs/${d.body.id}/messages?assistant_id=${assistant.id}&guest_id=${guest}`, { text: `I am ${guest}` });
      assert.equal(posted.status, 201);
    }
    const operator = new ConsolePage(await newPage('names console'));
    await operator.login(server.baseUrl);
    const names = [];
    for (const guest of ids) names.push((await operator.rows.filter({ hasText: `I am ${guest}` }).locator('.name').textContent()).trim());
    assert.deepEqual(names, ['Visitor user-1042.shop_a', 'Visitor user-1042.shop_b', 'Visitor 3f2a9c1e']);
    assert.deepEqual(operator.page.problems, []);
    await operator.page.context().close();
  });
});
