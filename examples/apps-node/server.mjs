// A tiny app backend for docs/apps.md: it knows its user, mints a Herald subscriber token for them (jose, HS256),
// and serves a page that subscribes with herald.js. Herald is reached through this server's own origin (/api, /ws,
// /herald.js are passed through), as a reverse proxy would in production, so the page needs no CORS.
//
//   APP_SECRET=... HERALD_URL=http://127.0.0.1:8000 PORT=3000 node server.mjs
//   open http://127.0.0.1:3000/?user=42
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { SignJWT } from 'jose';

const heraldUrl = new URL(process.env.HERALD_URL || 'http://127.0.0.1:8000');
const secret = process.env.APP_SECRET;
if (!secret || secret.length < 32) {
  console.error('Set APP_SECRET (at least 32 characters) to the secret Herald has as Herald:AppTokens:Keys:0:Secret.');
  process.exit(2);
}
const key = new TextEncoder().encode(secret);
const port = Number(process.env.PORT || 3000);

// The user is whoever the app's session says; this demo takes ?user= so one page can play several users.
async function mintToken(user) {
  return new SignJWT({ herald: { subscribe: [`user:${user}`, 'news:*'], publish: [`user:${user}`] } })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setExpirationTime('10m')
    .sign(key);
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Herald app example</title>
<h1>Your notifications</h1>
<ul id="events"></ul>
<script src="/herald.js"></script>
<script>
  const params = new URLSearchParams(location.search);
  const user = params.get('user') || '42';
  const getToken = async () => (await (await fetch('/herald-token?user=' + encodeURIComponent(user))).json()).token;
  window.received = [];
  window.errors = [];
  window.states = [];
  (async () => {
    const client = new Herald.Client({
      topics: ['user:' + user, 'news:general'],
      auth: { token: await getToken(), refreshToken: getToken },
      transport: params.get('transport') || 'auto',
      share: false,
    });
    client.on('event', (e) => {
      window.received.push({ id: e.id, event: e.event, data: e.data });
      const li = document.createElement('li');
      li.textContent = e.event + ': ' + JSON.stringify(e.data);
      document.getElementById('events').append(li);
    });
    client.on('state', (s) => {
      window.states.push(s.state);
      if (s.state === 'open') window.transport = s.transport;
    });
    client.on('error', (e) => window.errors.push(e.error));
    window.client = client;
  })();
</script>`;

function isForHerald(path) {
  return path.startsWith('/api/') || path.startsWith('/ws/') || path === '/herald.js';
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://app.local');
  if (url.pathname === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
  } else if (url.pathname === '/herald-token') {
    const user = url.searchParams.get('user') || '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(user)) {
      res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'bad user' }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify({ token: await mintToken(user) }));
  } else if (isForHerald(url.pathname)) {
    const upstream = httpRequest({ host: heraldUrl.hostname, port: heraldUrl.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  } else {
    res.writeHead(404).end();
  }
});

// WebSockets (/ws/topics): the upgrade request goes to Herald as it came, then bytes flow both ways.
server.on('upgrade', (req, socket, head) => {
  if (!isForHerald(new URL(req.url, 'http://app.local').pathname)) {
    socket.destroy();
    return;
  }
  const upstream = connect(Number(heraldUrl.port), heraldUrl.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});

server.listen(port, '127.0.0.1', () => console.log(`app example on http://127.0.0.1:${port}/?user=42 (Herald at ${heraldUrl.origin})`));
