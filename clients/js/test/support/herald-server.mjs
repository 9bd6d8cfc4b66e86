// Starts a real Herald node (the built herald.dll) on a free loopback port with its own data directory,
// and stops it afterwards. Tests use it to talk to Herald exactly as a browser or service would.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../../..');

export function heraldDll() {
  const candidates = [
    process.env.HERALD_DLL,
    join(repo, 'src/Herald.Cli/bin/Release/net10.0/herald.dll'),
    join(repo, 'src/Herald.Cli/bin/Debug/net10.0/herald.dll'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`herald.dll not found (looked in ${candidates.join(', ')}): run scripts/test.sh, which builds it first`);
  }
  return found;
}

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

const RATE_LIMITS_OFF = {
  'Herald:Limits:MessagesPerIpPerSecond': 0,
  'Herald:Limits:DialogsPerIpPerMinute': 0,
  'Herald:Limits:DialogsPerAssistantPerMinute': 0,
  'Herald:Limits:MessagesPerGuestPerSecond': 0,
  'Herald:Limits:LoginsPerIpPerMinute': 0,
};

export class HeraldServer {
  constructor({ port, dataDir, settings = {}, ownsDataDir = true }) {
    this.port = port;
    this.dataDir = dataDir;
    this.settings = settings;
    this.ownsDataDir = ownsDataDir;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.proc = null;
    this.output = '';
  }

  static async start(settings = {}) {
    // The transport tests post hundreds of messages and log in once per test: the per-IP/per-guest rate limits
    // (docs/security.md) are off unless a test sets them.
    settings = { ...RATE_LIMITS_OFF, ...settings };
    const server = new HeraldServer({ port: await freePort(), dataDir: mkdtempSync(join(tmpdir(), 'herald-js-')), settings });
    await server.launch();
    return server;
  }

  async launch() {
    const args = [heraldDll(), '--urls', this.baseUrl, `--Herald:Storage:DataDirectory=${this.dataDir}`, '--Logging:LogLevel:Default=Warning',
      // Tests post fast from one address; a test of the limits passes its own values in settings (later wins).
      '--Herald:Limits:MessagesPerIpPerSecond=0', '--Herald:Limits:DialogsPerIpPerMinute=0', '--Herald:Limits:DialogsPerAssistantPerMinute=0', '--Herald:Limits:MessagesPerGuestPerSecond=0', '--Herald:Limits:LoginsPerIpPerMinute=0'];
    for (const [k, v] of Object.entries(this.settings)) args.push(`--${k}=${v}`);
    this.proc = spawn('dotnet', args, { env: { ...process.env, ASPNETCORE_ENVIRONMENT: 'Development' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => { this.output += d; });
    this.proc.stderr.on('data', (d) => { this.output += d; });
    const exited = new Promise((_, rej) => this.proc.once('exit', (code) => rej(new Error(`herald exited early (${code}):\n${this.output}`))));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const r = await Promise.race([fetch(`${this.baseUrl}/api/sse/health`), exited]);
        if (r.ok) return;
      } catch (e) {
        if (String(e.message).startsWith('herald exited')) throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`herald did not become healthy within 30 s:\n${this.output}`);
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s). */
  async stop(signal = 'SIGTERM') {
    // A process ended by a signal has exitCode null and signalCode set: it is gone too, and its 'exit' has fired.
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  }

  async restart() {
    await this.stop();
    await this.launch();
  }

  async dispose() {
    await this.stop();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  async json(method, path, body, headers = {}) {
    const r = await fetch(this.baseUrl + path, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  async login() {
    const r = await this.json('POST', '/api/auth/login', { email: 'admin@herald.local', password: 'herald-dev-password' });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.access_token;
  }

  /** Adds an operator with `herald users add` against this node's data directory (the CLI needs no running node). */
  async addOperator(email, password, name) {
    const args = [heraldDll(), 'users', 'add', '--email', email, '--password', password, ...(name ? ['--name', name] : []),
      `--Herald:Storage:DataDirectory=${this.dataDir}`];
    const child = spawn('dotnet', args, { env: { ...process.env, ASPNETCORE_ENVIRONMENT: 'Development' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise((res) => child.once('exit', res));
    if (code !== 0) throw new Error(`herald users add failed (${code}): ${output}`);
  }

  /** Creates an assistant and a guest dialog; returns {assistantId, guestId, dialogId, query}. */
  async guestDialog(guestId = 'js-guest') {
    const token = await this.login();
    const a = await this.json('POST', '/api/assistants', { name: 'JS tests' }, { Authorization: `Bearer ${token}` });
    const d = await this.json('POST', `/api/widget/dialogs?assistant_id=${a.body.id}&guest_id=${guestId}`);
    return { assistantId: a.body.id, guestId, dialogId: d.body.id, query: `assistant_id=${a.body.id}&guest_id=${guestId}` };
  }

  async postGuest(g, text) {
    const r = await this.json('POST', `/api/widget/dialogs/${g.dialogId}/messages?${g.query}`, { sender: 'user', text });
    if (r.status !== 201) throw new Error(`post failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

/** Resolves when predicate() is true, polling on events rather than fixed sleeps; rejects after timeoutMs. */
export function waitFor(emitterOrFn, predicate, timeoutMs = 10_000, what = 'condition') {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const check = () => {
      if (predicate()) {
        clearTimeout(timer);
        res();
        return true;
      }
      return false;
    };
    if (check()) return;
    emitterOrFn(() => check());
  });
}
