// A reverse proxy on 127.0.0.1 between the client under test and a real Herald node, which the tests can
// break: cut the SSE path (live streams are torn down, new ones fail), make it buffer like a misconfigured
// nginx (headers pass, the body is held), or drop WebSockets. It also serves the browser test page and
// herald.js from the source tree, so the page, herald.js and the API share one origin (no CORS) and the tests
// always exercise the source file, not a copy embedded in the server.
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, '../../src');

const isSse = (url) => /\/events(\/admin)?(\?|$)/.test(url);
const isPoll = (url) => /\/poll(\?|$)/.test(url);

export class BreakableProxy {
  constructor(upstream) {
    this.upstream = new URL(upstream);
    this.sseCut = false;
    this.sseBuffered = false;
    this.wsCut = false;
    this.pollCut = false;
    this.counts = { sse: 0, poll: 0, ws: 0, other: 0, refused: 0 };
    this._live = new Set(); // {kind, destroy}
    this.pages = new Map();
    this.server = createServer((req, res) => this._handle(req, res));
    this.server.on('upgrade', (req, socket, head) => this._upgrade(req, socket, head));
    // Keep-alive sockets would outlive close(); tests should end promptly.
    this.server.keepAliveTimeout = 1000;
  }

  static async start(upstream) {
    const p = new BreakableProxy(upstream);
    await new Promise((res) => p.server.listen(0, '127.0.0.1', res));
    p.baseUrl = `http://127.0.0.1:${p.server.address().port}`;
    return p;
  }

  /** Serves `body` at `path` (e.g. the test page). */
  page(path, body, type = 'text/html; charset=utf-8') {
    this.pages.set(path, { body, type });
  }

  /** Tears down every live SSE stream and fails new ones until restoreSse(). */
  cutSse() {
    this.sseCut = true;
    this._kill('sse');
  }

  restoreSse() {
    this.sseCut = false;
  }

  cutWebSockets() {
    this.wsCut = true;
    this._kill('ws');
  }

  restoreWebSockets() {
    this.wsCut = false;
  }

  /** Closes live WebSockets without refusing new ones (a network blip). */
  dropWebSockets() {
    this._kill('ws');
  }

  liveCount(kind) {
    let n = 0;
    for (const c of this._live) if (c.kind === kind) n++;
    return n;
  }

  _kill(kind) {
    for (const c of [...this._live]) {
      if (c.kind === kind) c.destroy();
    }
  }

  _track(kind, destroy) {
    const entry = { kind, destroy };
    this._live.add(entry);
    return () => this._live.delete(entry);
  }

  _handle(req, res) {
    const path = req.url.split('?')[0];
    if (path === '/herald.js' || path === '/herald.mjs') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(readFileSync(join(srcDir, path.slice(1))));
      return;
    }
    if (this.pages.has(path)) {
      const p = this.pages.get(path);
      res.writeHead(200, { 'Content-Type': p.type, 'Cache-Control': 'no-store' });
      res.end(p.body);
      return;
    }
    const kind = isSse(req.url) ? 'sse' : isPoll(req.url) ? 'poll' : 'other';
    this.counts[kind]++;
    if ((kind === 'sse' && this.sseCut) || (kind === 'poll' && this.pollCut)) {
      this.counts.refused++;
      req.socket.destroy();
      return;
    }
    const up = httpRequest(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.upstream.host },
      },
      (upRes) => {
        res.writeHead(upRes.statusCode, upRes.headers);
        if (kind === 'sse' && this.sseBuffered) {
          // A buffering proxy: headers went out, the body waits for a buffer that never fills.
          upRes.on('data', () => {});
        } else {
          upRes.pipe(res);
        }
        // The node died mid-response (a killed process): end the client's side too, as a real proxy does.
        upRes.on('error', () => res.destroy());
        upRes.on('aborted', () => res.destroy());
      },
    );
    if (kind === 'sse') {
      const untrack = this._track('sse', () => {
        up.destroy();
        req.socket.destroy();
      });
      res.on('close', untrack);
    }
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.destroy();
    });
    req.pipe(up);
    res.on('close', () => up.destroy());
  }

  _upgrade(req, socket, head) {
    this.counts.ws++;
    if (this.wsCut) {
      this.counts.refused++;
      socket.destroy();
      return;
    }
    const up = connect(Number(this.upstream.port), this.upstream.hostname, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i];
        raw += `${name}: ${name.toLowerCase() === 'host' ? this.upstream.host : req.rawHeaders[i + 1]}\r\n`;
      }
      up.write(raw + '\r\n');
      if (head && head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const untrack = this._track('ws', () => {
      up.destroy();
      socket.destroy();
    });
    const done = () => {
      untrack();
      up.destroy();
      socket.destroy();
    };
    up.on('error', done);
    socket.on('error', done);
    up.on('close', done);
    socket.on('close', done);
  }

  async close() {
    for (const c of [...this._live]) c.destroy();
    this.server.closeAllConnections?.();
    await new Promise((res) => this.server.close(res));
  }
}
