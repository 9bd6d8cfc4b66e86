// A team's inbox in headless Chromium against a real Herald node (issue 19, item 10): operator A assigns a dialog to
// operator B and resolves it; B's console, another browser, follows live; the visitor sees A's display name on A's
// message, never an email.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HeraldServer } from './support/herald-server.mjs';
import { launchChromium, newWatchedPage, WidgetPage, ConsolePage, axeViolations } from './support/ui-pages.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([HeraldServer.start(), launchChromium()]);
  await server.addOperator('bob.stone@herald.local', 'bob-long-password', 'Bob Stone');
  const token = await server.login();
  const named = await server.json('PUT', '/api/operators/me', { display_name: 'Ada Admin' }, { Authorization: `Bearer ${token}` });
  assert.equal(named.status, 200, JSON.stringify(named.body));
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

// Each operator in a browser of their own: separate sign-ins.
async function newConsole(label) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  return new ConsolePage(await newWatchedPage(browser, label, { context }));
}

describe('a team in the console, in Chromium', () => {
  test('A assigns a dialog to B and resolves it: B sees it live; the visitor sees A by display name', async () => {
    // The team signs in first: the visitor meets an available team, not the "leave your email" form.
    const a = await newConsole('console A');
    await a.login(server.baseUrl);
    const b = await newConsole('console B');
    await b.login(server.baseUrl, 'bob.stone@herald.local', 'bob-long-password');
    const visitor = new WidgetPage(await newWatchedPage(browser, 'visitor'));
    await visitor.page.goto(`${server.baseUrl}/demo`);
    await visitor.open();
    await visitor.send('Where is my order?');
    await visitor.waitForMessage('Where is my order?');
    const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
    await b.row(dialogId).locator('.assignee', { hasText: 'Unassigned' }).waitFor({ timeout: 10_000 });
    await b.openDialog(dialogId);
    await b.page.locator('#thread-state', { hasText: 'Open · Unassigned' }).waitFor({ timeout: 5000 });

    // A answers: the visitor sees A's display name on it, B sees a colleague's name (A sees "You").
    await a.openDialog(dialogId);
    await a.send('Let me check that for you.');
    await visitor.waitForMessage('Let me check that for you.');
    const bubble = visitor.host.locator('li.msg[data-sender="manager"]', { hasText: 'Let me check' });
    assert.equal(await bubble.locator('.author').textContent(), 'Ada Admin');
    assert.equal(await bubble.locator('.sr-only').textContent(), 'Ada Admin: ');
    await b.waitForMessage('Let me check that for you.');
    assert.equal(await b.page.locator('#messages li.msg[data-sender="manager"] .author').textContent(), 'Ada Admin');
    assert.equal(await a.page.locator('#messages li.msg[data-sender="manager"] .author').count(), 0);

    // A hands the dialog to B: B's list and open thread follow without a reload.
    await a.page.selectOption('#assign', { label: 'Bob Stone' });
    await b.row(dialogId).locator('.assignee', { hasText: 'Assigned to you' }).waitFor({ timeout: 10_000 });
    await b.page.locator('#thread-state', { hasText: 'Open · Assigned to you' }).waitFor({ timeout: 10_000 });
    await a.row(dialogId).locator('.assignee', { hasText: 'Assigned to Bob Stone' }).waitFor({ timeout: 5000 });

    // A resolves it: B's thread says so, and it leaves B's list of open dialogs...
    await a.page.locator('#resolve').click();
    await b.page.locator('#thread-state', { hasText: 'Resolved · Assigned to you' }).waitFor({ timeout: 10_000 });
    assert.equal(await b.page.locator('#resolve').textContent(), 'Reopen');
    await b.row(dialogId).waitFor({ state: 'detached', timeout: 10_000 });
    // ...and is there under "Resolved", chosen with the keyboard.
    await b.page.locator('#filter-status').focus();
    await b.page.keyboard.press('ArrowDown');
    assert.equal(await b.page.locator('#filter-status').inputValue(), 'resolved');
    await b.row(dialogId).locator('.status', { hasText: 'Resolved' }).waitFor({ timeout: 10_000 });
    await b.row(dialogId).locator('.assignee', { hasText: 'Assigned to you' }).waitFor({ timeout: 5000 });

    // The visitor writes again: the dialog is open again, for both.
    await visitor.send('Any news?');
    await b.row(dialogId).waitFor({ state: 'detached', timeout: 10_000 });
    await a.page.locator('#thread-state', { hasText: 'Open · Assigned to Bob Stone' }).waitFor({ timeout: 10_000 });

    // The new controls and the named bubble keep axe at zero violations.
    assert.deepEqual(await axeViolations(b.page), [], 'the console with filters, status and assignee');
    assert.deepEqual(await axeViolations(visitor.page), [], "the widget with an operator's name");

    // Nothing the widget holds names an operator's email.
    const widgetText = await visitor.page.evaluate(() => document.querySelector('herald-widget').shadowRoot.innerHTML);
    assert.doesNotMatch(widgetText, /@herald\.local/);

    assert.deepEqual([...a.page.problems, ...b.page.problems, ...visitor.page.problems], []);
    for (const side of [a, b, visitor]) await side.page.context().close();
  });
});
