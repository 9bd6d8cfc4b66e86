// Drives Herald's own pages in headless Chromium: the widget (on /demo or any host page) and the operator console.
// Shared by test/ui.test.mjs and tools/screenshots.mjs. Every wait is on something observable, with a timeout.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export function launchChromium() {
  // Debian's Chromium; playwright-core never downloads a browser.
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Collects page errors and console errors so a test can assert there were none. */
export function watchPage(page, label) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(`${label} page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${label} console error: ${m.text()}`);
  });
  return problems;
}

/**
 * A page in a context of its own (or in `options.context`, as another tab), 1280×800 unless `options` say
 * otherwise, whose errors are collected in `page.problems`.
 */
export async function newWatchedPage(browser, label, { context, ...options } = {}) {
  context ??= await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.problems = watchPage(page, label);
  return page;
}

export class WidgetPage {
  constructor(page) {
    this.page = page;
    this.host = page.locator('herald-widget');
    this.launcher = this.host.locator('.launcher');
    this.panel = this.host.locator('.panel');
    this.input = this.host.locator('textarea');
    this.alert = this.host.locator('.alert');
    this.status = this.host.locator('.status');
    this.messages = this.host.locator('li.msg');
  }

  async open() {
    await this.launcher.click();
    await this.panel.waitFor({ state: 'visible', timeout: 5000 });
  }

  async send(text) {
    await this.input.fill(text);
    await this.input.press('Enter');
  }

  /** Resolves when a stored (not pending) message with this text is shown. */
  waitForMessage(text, timeout = 15_000) {
    return this.host.locator('li.msg[data-message-id]', { hasText: text }).first().waitFor({ timeout });
  }

  waitForConnection(state, timeout = 20_000) {
    return this.page.waitForFunction((s) => document.querySelector('herald-widget')?.shadowRoot?.querySelector('.hw')?.dataset.connection === s, state, {
      timeout,
      polling: 50,
    });
  }

  recordConnection() {
    return recordConnection(this.page, 'widget');
  }

  connectionStates() {
    return this.page.evaluate(() => window.__connectionStates);
  }

  /** [{id, text, sender, pending}] in DOM order. */
  list() {
    return this.messages.evaluateAll((lis) =>
      lis.map((li) => ({ id: li.dataset.messageId || null, text: li.querySelector('.text').textContent, sender: li.dataset.sender, pending: 'pending' in li.dataset })),
    );
  }
}

export class ConsolePage {
  constructor(page) {
    this.page = page;
    this.rows = page.locator('#dialogs .dialog');
    this.messages = page.locator('#messages li.msg');
    this.reply = page.locator('#reply');
    this.connection = page.locator('#connection');
  }

  async login(baseUrl, email = 'admin@herald.local', password = 'herald-dev-password') {
    await this.page.goto(`${baseUrl}/console`);
    await this.page.locator('#email').fill(email);
    await this.page.locator('#password').fill(password);
    await this.page.locator('#login-form button[type=submit]').click();
    await this.waitForConnection('open');
  }

  row(dialogId) {
    return this.page.locator(`#dialogs .dialog[data-dialog-id="${dialogId}"]`);
  }

  async openDialog(dialogId) {
    await this.row(dialogId).click();
    await this.page.locator('#thread').waitFor({ state: 'visible', timeout: 5000 });
  }

  async send(text) {
    await this.reply.fill(text);
    await this.reply.press('Enter');
  }

  waitForMessage(text, timeout = 15_000) {
    return this.page.locator('#messages li.msg[data-message-id]', { hasText: text }).first().waitFor({ timeout });
  }

  waitForConnection(state, timeout = 20_000) {
    return this.page.waitForFunction((s) => document.getElementById('connection')?.dataset.state === s, state, { timeout, polling: 50 });
  }

  list() {
    return this.messages.evaluateAll((lis) =>
      lis.map((li) => ({ id: li.dataset.messageId || null, text: li.querySelector('.text').textContent, sender: li.dataset.sender, pending: 'pending' in li.dataset })),
    );
  }

  recordConnection() {
    return recordConnection(this.page, 'console');
  }

  connectionStates() {
    return this.page.evaluate(() => window.__connectionStates);
  }
}

/** Records every value the connection indicator takes, so a test can tell that a state was passed through. */
function recordConnection(page, which) {
  return page.evaluate((w) => {
    // No eval here: the pages' CSP forbids it.
    const target = w === 'widget' ? document.querySelector('herald-widget').shadowRoot.querySelector('.hw') : document.getElementById('connection');
    const attr = w === 'widget' ? 'connection' : 'state';
    window.__connectionStates = [target.dataset[attr]];
    new MutationObserver(() => window.__connectionStates.push(target.dataset[attr])).observe(target, { attributes: true, attributeFilter: ['data-' + attr] });
  }, which);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (npm, WCAG 2.x A/AA and best practices) on the page as it is now, shadow roots included; returns
 * the violations as readable lines ("rule: target — summary"), empty when there are none.
 */
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol: the pages' CSP (no inline or eval'd script) does not apply.
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} — ${n.failureSummary.replace(/\s+/g, ' ')}`));
}
