// Takes the README's screenshots (docs/images/widget.png, docs/images/console.png) with headless Chromium:
// two visitors talk to an operator through /demo and /console; a colleague has the other dialog.
//
//   node tools/screenshots.mjs                                   # starts the built herald.dll on a free port, fresh data
//   HERALD_URL=http://localhost:8000 node tools/screenshots.mjs  # against a running `dotnet run` (Development)
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeraldServer } from '../test/support/herald-server.mjs';
import { launchChromium, WidgetPage, ConsolePage } from '../test/support/ui-pages.mjs';

const images = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/images');
mkdirSync(images, { recursive: true });

const server = process.env.HERALD_URL ? null : await HeraldServer.start();
const base = process.env.HERALD_URL || server.baseUrl;
// The team: the operator is "Ada" to visitors; a colleague, Bob, takes the other dialog (a fresh node only: `herald users`
// writes to its data directory).
await server?.addOperator('bob.stone@herald.local', 'bob-long-password', 'Bob Stone');
const json = async (method, path, token, body) => {
  const r = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const token = (await json('POST', '/api/auth/login', null, { email: 'admin@herald.local', password: 'herald-dev-password' })).access_token;
await json('PUT', '/api/operators/me', token, { display_name: 'Ada' });
const browser = await launchChromium();
try {
  const viewport = { width: 1280, height: 800 };
  const visitor = new WidgetPage(await (await browser.newContext({ viewport })).newPage());
  const other = new WidgetPage(await (await browser.newContext({ viewport })).newPage());
  const operator = new ConsolePage(await (await browser.newContext({ viewport })).newPage());

  await operator.login(base);
  await other.page.goto(`${base}/demo`);
  await other.open();
  await other.send('Can I still change the delivery address of order 1042?');
  await other.waitForMessage('order 1042');
  const otherId = await other.page.evaluate(() => window.HeraldWidget.dialogId);
  const bob = (await json('GET', '/api/operators', token)).find((o) => o.email === 'bob.stone@herald.local');
  if (bob) await json('PUT', `/api/dialogs/${otherId}/assignee`, token, { operator_id: bob.id });

  await visitor.page.goto(`${base}/demo`);
  await visitor.open();
  await visitor.send('Hi! Do you ship to Lisbon?');
  await visitor.waitForMessage('Lisbon');
  const dialogId = await visitor.page.evaluate(() => window.HeraldWidget.dialogId);
  await operator.row(dialogId).waitFor();
  await operator.openDialog(dialogId);
  await operator.waitForMessage('Lisbon');
  // "Assign to me" (the first choice after "Nobody").
  await operator.page.selectOption('#assign', { index: 1 });
  await operator.page.locator('#thread-state', { hasText: 'Assigned to you' }).waitFor({ timeout: 10_000 });
  await operator.send('Hello! Yes — Portugal takes 2–3 days, and delivery is free over €60.');
  await visitor.waitForMessage('Portugal takes');
  await visitor.send('Great. Is the Arare teapot in stock?');
  await operator.waitForMessage('Arare');
  await operator.send('It is: 4 left in black, 2 in green.');
  await visitor.waitForMessage('4 left');
  // The visitor starts typing the next question: the console shows it.
  await Promise.all([
    operator.page.locator('#typing').waitFor({ state: 'visible', timeout: 10_000 }),
    visitor.input.pressSequentially('Perfect, I will take the black one', { delay: 120 }),
  ]);

  await visitor.page.screenshot({ path: join(images, 'widget.png') });
  await operator.page.screenshot({ path: join(images, 'console.png') });
  console.log(`wrote ${join(images, 'widget.png')} and ${join(images, 'console.png')} from ${base}`);
} finally {
  await browser.close();
  await server?.dispose();
}
