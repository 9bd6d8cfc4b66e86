// The widget and the console through a network drop, in headless Chromium with its offline emulation
// (BrowserContext.setOffline: navigator.onLine, the online/offline events, and every new request failing), against
// a real Herald node. Issue 19's first bug: after a 5 s drop the header stayed "Offline" while messages flowed
// again; after a 40 s drop a "Not sent" message was not resent by itself and the console had no Retry button.
// What is checked: the state shown follows the connection, and what was queued goes out as soon as the network is
// back, once each (client_message_id). Real timings throughout: the 40 s drop outlasts every send's retries.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HeraldServer } from './support/herald-server.mjs';
import { launchChromium, newWatchedPage, WidgetPage, ConsolePage } from './support/ui-pages.mjs';

// "As soon as it is back": one round of requests on loopback, with room for a busy shared CPU.
const BACK_WITHIN = 3000;

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([HeraldServer.start(), launchChromium()]);
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function newPage(label) {
  const page = await newWatchedPage(browser, label);
  // A request made while offline fails in the browser's console ("net::ERR_INTERNET_DISCONNECTED"): that is the
  // drop itself, not a problem of the page.
  const problems = page.problems;
  page.problems = { list: () => problems.filter((p) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(p)) };
  return page;
}

/** A visitor who has written, and an operator with that dialog open: both connected. */
async function conversation(name) {
  const visitor = new WidgetPage(await newPage(`${name} widget`));
  await visitor.page.goto(`${server.baseUrl}/demo`);
  await visitor.open();
  await visitor.send(`Hello before the ${name} drop`);
  await visitor.waitForMessage(`Hello before the ${name} drop`);
  const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
  const operator = new ConsolePage(await newPage(`${name} console`));
  await operator.login(server.baseUrl);
  await operator.row(dialogId).waitFor({ timeout: 10_000 });
  await operator.openDialog(dialogId);
  await operator.waitForMessage(`Hello before the ${name} drop`);
  await visitor.waitForConnection('open');
  await visitor.recordConnection();
  await operator.recordConnection();
  return { visitor, operator, dialogId };
}

async function setOffline(offline, ...pages) {
  await Promise.all(pages.map((p) => p.page.context().setOffline(offline)));
}

async function stored(dialogId) {
  const r = await server.json('GET', `/api/dialogs/${dialogId}/messages`, undefined, { Authorization: `Bearer ${await server.login()}` });
  assert.equal(r.status, 200);
  return r.body.map((m) => m.text);
}

describe('a network drop in Chromium', () => {
  test('a 5 s drop: both sides show offline, then live again at once; what was sent meanwhile goes out once', async () => {
    const { visitor, operator, dialogId } = await conversation('short');
    await setOffline(true, visitor, operator);
    await visitor.page.waitForFunction(() => window.__connectionStates.includes('offline'), null, { timeout: 5000 });
    await operator.page.waitForFunction(() => window.__connectionStates.includes('offline'), null, { timeout: 5000 });
    assert.match(await visitor.status.textContent(), /Offline/);
    await visitor.send('Sent during the short drop (visitor)');
    await operator.send('Sent during the short drop (operator)');
    await visitor.host.locator('li.msg[data-pending]', { hasText: 'Sent during the short drop (visitor)' }).waitFor();
    await operator.page.locator('#messages li.msg[data-pending]', { hasText: 'Sent during the short drop (operator)' }).waitFor();
    await new Promise((r) => setTimeout(r, 5000)); // the drop itself: there is nothing to await but time

    await setOffline(false, visitor, operator);
    const back = Date.now();
    // The streams lived through the drop (only new requests failed): the header must say so, not stay "Offline".
    await visitor.waitForConnection('open', BACK_WITHIN);
    await operator.waitForConnection('open', BACK_WITHIN);
    assert.doesNotMatch(await visitor.status.textContent(), /Offline/);
    const both = ['Sent during the short drop (visitor)', 'Sent during the short drop (operator)'];
    for (const text of both) {
      await visitor.waitForMessage(text, BACK_WITHIN - (Date.now() - back) + 1000);
      await operator.waitForMessage(text, BACK_WITHIN - (Date.now() - back) + 1000);
    }
    // Each once; the two sides' sends race, so their order is either.
    assert.deepEqual((await stored(dialogId)).sort(), ['Hello before the short drop', ...both].sort());
    assert.deepEqual([...visitor.page.problems.list(), ...operator.page.problems.list()], []);
    await visitor.page.context().close();
    await operator.page.context().close();
  });

  test('a 40 s drop: "Not sent" with Retry on both sides, then resent by themselves once the network is back, once', async () => {
    const { visitor, operator, dialogId } = await conversation('long');
    await setOffline(true, visitor, operator);
    await visitor.page.waitForFunction(() => window.__connectionStates.includes('offline'), null, { timeout: 5000 });
    const started = Date.now();
    await visitor.send('Sent during the long drop (visitor)');
    await operator.send('Sent during the long drop (operator)');
    // Every automatic attempt fails while offline; each side then says so and offers a Retry button.
    const widgetFailed = visitor.host.locator('li.msg[data-failed]', { hasText: 'Sent during the long drop (visitor)' });
    const consoleFailed = operator.page.locator('#messages li.msg[data-failed]', { hasText: 'Sent during the long drop (operator)' });
    await widgetFailed.locator('button.retry').waitFor({ timeout: 40_000 });
    await consoleFailed.locator('button.retry').waitFor({ timeout: 40_000 });
    // Retry while still offline: tried at once, fails again, and the automatic attempts start over.
    await consoleFailed.locator('button.retry').click();
    await operator.page
      .locator('#messages li.msg[data-pending]:not([data-failed])', { hasText: 'Sent during the long drop (operator)' })
      .filter({ hasText: 'Waiting for the connection' })
      .waitFor({ timeout: 10_000 });
    const rest = 40_000 - (Date.now() - started);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest)); // the rest of the drop

    await setOffline(false, visitor, operator);
    const back = Date.now();
    await visitor.waitForConnection('open', BACK_WITHIN);
    await operator.waitForConnection('open', BACK_WITHIN);
    const both = ['Sent during the long drop (visitor)', 'Sent during the long drop (operator)'];
    for (const text of both) {
      await visitor.waitForMessage(text, BACK_WITHIN - (Date.now() - back) + 1000);
      await operator.waitForMessage(text, BACK_WITHIN - (Date.now() - back) + 1000);
    }
    assert.equal(await visitor.host.locator('li.msg[data-failed], li.msg[data-pending]').count(), 0);
    assert.equal(await operator.page.locator('#messages li.msg[data-failed], #messages li.msg[data-pending]').count(), 0);
    assert.equal(await operator.page.locator('#reply-error').textContent(), '');
    // Each once; the two sides' sends race, so their order is either.
    assert.deepEqual((await stored(dialogId)).sort(), ['Hello before the long drop', ...both].sort());
    assert.deepEqual([...visitor.page.problems.list(), ...operator.page.problems.list()], []);
    await visitor.page.context().close();
    await operator.page.context().close();
  });
});
