// Accessibility and small screens, in headless Chromium against a real Herald node (issue 19, item 6): axe-core
// (npm) scans the widget, the sign-in page and the console at zero violations; a landscape phone gets a full-screen
// panel whose messages and times fit; the console is usable from the keyboard (focus after sign-in, arrow keys
// through the dialog list, a focus ring nothing covers).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HeraldServer } from './support/herald-server.mjs';
import { launchChromium, newWatchedPage, WidgetPage, ConsolePage, axeViolations } from './support/ui-pages.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([HeraldServer.start(), launchChromium()]);
  // Three visitors who wrote, oldest first: the console lists them newest first.
  for (const guest of ['a11y-1', 'a11y-2', 'a11y-3']) {
    const g = await server.guestDialog(guest);
    await server.postGuest(g, `Hello from ${guest}`);
  }
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

const newPage = (label, options) => newWatchedPage(browser, label, options);

const settle = (locator) => locator.evaluate((el) => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished)));

describe('accessibility and small screens in Chromium', () => {
  test('axe finds no violations on the widget, the sign-in page and the console', async () => {
    for (const viewport of [{ width: 1280, height: 800 }, { width: 844, height: 390 }]) {
      const visitor = new WidgetPage(await newPage(`widget ${viewport.width}`, { viewport }));
      await visitor.page.goto(`${server.baseUrl}/demo`);
      await visitor.open();
      await visitor.send(`Hello at ${viewport.width}×${viewport.height}`);
      await visitor.waitForMessage(`Hello at ${viewport.width}×${viewport.height}`);
      await settle(visitor.panel);
      assert.deepEqual(await axeViolations(visitor.page), [], `the widget at ${viewport.width}×${viewport.height}`);
      await visitor.page.context().close();
    }

    const operator = new ConsolePage(await newPage('console'));
    await operator.page.goto(`${server.baseUrl}/console`);
    await operator.page.locator('#login-form').waitFor();
    assert.deepEqual(await axeViolations(operator.page), [], 'the sign-in page');
    await operator.login(server.baseUrl);
    await operator.rows.nth(2).waitFor({ timeout: 10_000 });
    assert.deepEqual(await axeViolations(operator.page), [], 'the console, dialog list');
    await operator.rows.first().click();
    await operator.messages.first().waitFor({ timeout: 10_000 });
    assert.deepEqual(await axeViolations(operator.page), [], 'the console, a dialog open');
    assert.deepEqual(operator.page.problems, []);
    await operator.page.context().close();
  });

  test('landscape phone (844×390): the panel fills the screen, the messages get the room, no time is clipped', async () => {
    const visitor = new WidgetPage(await newPage('landscape widget', { viewport: { width: 844, height: 390 }, isMobile: true, hasTouch: true }));
    await visitor.page.goto(`${server.baseUrl}/demo`);
    await visitor.open();
    const texts = Array.from({ length: 6 }, (_, i) => `Landscape message ${i + 1}: a line long enough to wrap on a narrow bubble, more or less`);
    for (const text of texts) {
      await visitor.send(text);
      await visitor.waitForMessage(text);
    }
    await settle(visitor.panel);
    const box = await visitor.panel.boundingBox();
    assert.deepEqual([box.x, box.y, box.width, Math.round(box.height)], [0, 0, 844, 390], 'the panel is not full-screen');
    assert.equal(await visitor.launcher.isVisible(), false);
    const list = visitor.host.locator('.messages');
    const area = await list.boundingBox();
    assert.ok(area.height >= 250, `the message area is ${Math.round(area.height)} px of 390`);
    // Scrolled to the end (as it is after sending), the newest message and its time are inside the visible list.
    const last = await visitor.messages.last().locator('.meta').boundingBox();
    assert.ok(last.y >= area.y && last.y + last.height <= area.y + area.height + 0.5, `the last time is clipped: ${JSON.stringify({ last, area })}`);
    assert.ok(last.x >= area.x && last.x + last.width <= area.x + area.width + 0.5, `the last time is clipped sideways: ${JSON.stringify({ last, area })}`);
    await visitor.page.screenshot({ path: new URL('../test-results/ui-landscape.png', import.meta.url).pathname });
    assert.deepEqual(visitor.page.problems, []);
    await visitor.page.context().close();
  });

  test('console keyboard: focus lands on the dialog list after sign-in, arrow keys move through it, the focus ring shows whole', async () => {
    const operator = new ConsolePage(await newPage('keyboard console'));
    await operator.login(server.baseUrl);
    await operator.rows.nth(2).waitFor({ timeout: 10_000 });
    const focusedRow = () => operator.page.evaluate(() => (document.activeElement?.classList.contains('dialog') ? [...document.querySelectorAll('#dialogs .dialog')].indexOf(document.activeElement) : document.activeElement?.tagName));
    await operator.page.waitForFunction(() => document.activeElement?.matches('#dialogs .dialog'), null, { timeout: 5000 }).catch(() => {});
    assert.equal(await focusedRow(), 0, 'focus after sign-in is not on the first dialog');

    // Earlier tests' visitors are listed too: at least the three written in before().
    const last = (await operator.rows.count()) - 1;
    await operator.page.keyboard.press('ArrowDown');
    assert.equal(await focusedRow(), 1);
    await operator.page.keyboard.press('ArrowDown');
    assert.equal(await focusedRow(), 2);
    await operator.page.keyboard.press('End');
    assert.equal(await focusedRow(), last);
    await operator.page.keyboard.press('ArrowDown');
    assert.equal(await focusedRow(), last, 'ArrowDown past the last row');
    await operator.page.keyboard.press('ArrowUp');
    assert.equal(await focusedRow(), last - 1);
    await operator.page.keyboard.press('Home');
    assert.equal(await focusedRow(), 0);
    await operator.page.keyboard.press('ArrowUp');
    assert.equal(await focusedRow(), 0, 'ArrowUp past the first row');

    // The first row's focus ring (outline) is painted where nothing covers or clips it: the middle of each of its
    // four sides hit-tests to the list, not to the sticky heading above it or outside the scrolling sidebar.
    const covered = await operator.page.evaluate(() => {
      const row = document.activeElement;
      const style = getComputedStyle(row);
      const w = parseFloat(style.outlineWidth);
      const o = parseFloat(style.outlineOffset);
      if (style.outlineStyle === 'none' || !w) return ['no focus ring'];
      const r = row.getBoundingClientRect();
      const points = {
        top: [(r.left + r.right) / 2, r.top - o - w / 2],
        bottom: [(r.left + r.right) / 2, r.bottom + o + w / 2],
        left: [r.left - o - w / 2, (r.top + r.bottom) / 2],
        right: [r.right + o + w / 2, (r.top + r.bottom) / 2],
      };
      const list = document.getElementById('dialogs');
      return Object.entries(points)
        .filter(([, [x, y]]) => !list.contains(document.elementFromPoint(x, y)))
        .map(([side, [x, y]]) => `${side}: ${document.elementFromPoint(x, y)?.outerHTML.slice(0, 60)}`);
    });
    assert.deepEqual(covered, [], 'the focus ring of the first row is covered or clipped');

    // Enter opens the focused dialog.
    await operator.page.keyboard.press('Enter');
    await operator.page.locator('#thread').waitFor({ state: 'visible', timeout: 5000 });
    assert.deepEqual(operator.page.problems, []);
    await operator.page.context().close();
  });
});
