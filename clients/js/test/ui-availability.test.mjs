// Real availability (issue 19 item 8, issue 17 item 3), in headless Chromium against a real Herald node: the widget
// says "Online" only while an operator has the console open, and otherwise offers to leave an email, which reaches the
// operator once, with the visitor's message; the console says what visitors see.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HeraldServer } from './support/herald-server.mjs';
import { launchChromium, newWatchedPage, WidgetPage, ConsolePage } from './support/ui-pages.mjs';

let server;
let browser;
let probe;

before(async () => {
  [server, browser] = await Promise.all([HeraldServer.start(), launchChromium()]);
  // A dialog of our own to ask the server what every widget is told (the answer is cached for one presence interval).
  probe = await server.guestDialog('availability-probe');
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

const newPage = (label) => newWatchedPage(browser, label, {});

async function availableIs(expected, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await server.json('GET', `/api/widget/dialogs/${probe.dialogId}/availability?${probe.query}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (r.body.available === expected) return;
    if (Date.now() > deadline) throw new Error(`availability stayed ${r.body.available}, expected ${expected}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function visitor(label) {
  const v = new WidgetPage(await newPage(label));
  await v.page.goto(server.baseUrl + '/demo');
  await v.open();
  await v.waitForConnection('open');
  return v;
}

describe('operator availability in the widget and the console, in Chromium', () => {
  test('nobody at the console: the widget says Away and the email left with a message reaches the operator once', async () => {
    await availableIs(false);
    const v = await visitor('away widget');
    const email = v.host.locator('#hw-email');
    await email.waitFor({ state: 'visible', timeout: 10_000 });
    await v.page.waitForFunction(() => /Away/.test(document.querySelector('herald-widget').shadowRoot.querySelector('.status').textContent), null, { timeout: 10_000 });

    await email.fill('visitor@example.com');
    await v.send('Is the order shipped?');
    await v.waitForMessage('Is the order shipped?');
    const mine = (await v.list()).filter((m) => m.text.includes('Is the order shipped?'));
    assert.equal(mine.length, 1);
    assert.match(mine[0].text, /visitor@example\.com/);
    // Sent once: the field goes away and the next message carries no address.
    await email.waitFor({ state: 'hidden', timeout: 5000 });
    await v.send('Thanks');
    await v.waitForMessage('Thanks');
    assert.doesNotMatch((await v.list()).find((m) => m.text.includes('Thanks')).text, /@/);
    assert.deepEqual(v.page.problems, []);
    await v.page.context().close();
  });

  test('an operator with the console open: the console says visitors see "available" and a widget says Online', async () => {
    const operator = new ConsolePage(await newPage('console'));
    await operator.login(server.baseUrl);
    await operator.page.locator('#availability', { hasText: 'Visitors see: available (1 operator online)' }).waitFor({ timeout: 15_000 });
    await availableIs(true);

    const v = await visitor('online widget');
    await v.page.waitForFunction(() => /Online — an operator is here/.test(document.querySelector('herald-widget').shadowRoot.querySelector('.status').textContent), null, { timeout: 10_000 });
    assert.equal(await v.host.locator('#hw-email').isVisible(), false);

    // The operator leaves: availability follows (widgets re-check on their own interval; the server answers at once).
    await operator.page.context().close();
    await availableIs(false);
    assert.deepEqual(v.page.problems, []);
    await v.page.context().close();
  });
});
