/*!
 * Herald chat widget — one tag on any page, no build step:
 *
 *   <script src="https://chat.example.com/widget.js" data-site-token="hwt_…" async></script>
 *
 * or, in guest mode, data-assistant-id="3" instead of data-site-token. Optional attributes:
 *   data-guest-id, data-identifier-hash  a visitor id your backend signed (verified identities, docs/security.md)
 *   data-title                           the panel's heading (default "Chat with us")
 *   data-accent                          a CSS colour for the launcher and the visitor's bubbles
 *   data-open="true"                     open the panel on load
 *   data-share-page="false"              do not tell operators the page address and referrer (they are told by
 *                                        default, once per page view in which the visitor writes)
 *
 * Herald's origin is the script's own origin: the page may be anywhere (the server's CORS and domain rules decide).
 * The widget draws into a Shadow DOM, so the page's CSS cannot reach it and its CSS cannot leak into the page.
 * It keeps the visitor's guest_id in localStorage, sends with POST (client_message_id makes a retried send
 * idempotent), and receives through herald.js (SSE, falling back to long polling). Every message is shown once:
 * messages are kept by id, whatever delivers them (history, the stream, a reload after a reconnect or a reset).
 */
(function () {
  'use strict';

  const script =
    document.currentScript ||
    Array.prototype.find.call(document.querySelectorAll('script[src]'), (s) => /\/widget\.js(?:[?#]|$)/.test(s.src) && !s.dataset.heraldStarted);
  if (!script || script.dataset.heraldStarted) return;
  script.dataset.heraldStarted = '1';

  const base = new URL(script.src, location.href).origin;
  const cfg = {
    siteToken: script.dataset.siteToken || null,
    assistantId: script.dataset.assistantId || null,
    guestId: script.dataset.guestId || null,
    identifierHash: script.dataset.identifierHash || null,
    title: script.dataset.title || 'Chat with us',
    accent: script.dataset.accent || null,
    openOnLoad: script.dataset.open === 'true',
    sharePage: script.dataset.sharePage !== 'false',
  };

  const SEND_ATTEMPTS = 6; // then the bubble offers "Retry"; a reconnect retries it too
  const TYPING_EVERY = 3000;
  const TYPING_SHOWN = 4000;

  // ---------------------------------------------------------------------------------------------------------
  // The visitor: a guest id kept per Herald server and per site token/assistant, so a returning visitor gets
  // their dialog back. localStorage can be unavailable (privacy modes, sandboxed frames): then it lives as long
  // as the page.
  // ---------------------------------------------------------------------------------------------------------
  const storageKey = 'herald-widget|' + base + '|' + (cfg.siteToken ? 'site:' + cfg.siteToken : 'assistant:' + cfg.assistantId);
  const memory = {};
  function load() {
    try {
      return JSON.parse(localStorage.getItem(storageKey) || '{}') || {};
    } catch {
      return memory;
    }
  }
  function save(v) {
    Object.assign(memory, v);
    try {
      localStorage.setItem(storageKey, JSON.stringify(memory));
    } catch {
      // not persisted: fine for this page
    }
  }
  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    // randomUUID exists only in secure contexts; a plain-http customer page still gets a random v4 UUID.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  Object.assign(memory, load());
  if (cfg.guestId) {
    // A site-assigned identity wins; a dialog remembered for another visitor on this browser is not theirs.
    if (memory.guestId !== cfg.guestId) save({ guestId: cfg.guestId, dialogId: null });
  } else if (!memory.guestId) {
    save({ guestId: newId(), dialogId: null });
  }
  const guestId = memory.guestId;

  /** Adds the widget's credentials to a URL; keeps whatever the URL already has (herald.js sets some). */
  function withAuth(url) {
    const u = new URL(url, base);
    const q = u.searchParams;
    if (cfg.siteToken) {
      if (!q.has('site_token')) q.set('site_token', cfg.siteToken);
    } else if (!q.has('assistant_id')) {
      q.set('assistant_id', cfg.assistantId);
    }
    if (!q.has('guest_id')) q.set('guest_id', guestId);
    if (cfg.identifierHash && !q.has('identifier_hash')) q.set('identifier_hash', cfg.identifierHash);
    return u.toString();
  }

  // herald.js builds its own URLs; in site-token mode it names no guest, and it never sends identifier_hash, so
  // its requests go through this.
  const heraldFetch = (input, init) => fetch(withAuth(String(input)), init);

  class HttpError extends Error {
    constructor(status, body, retryAfter) {
      super((body && body.detail) || 'HTTP ' + status);
      this.status = status;
      this.code = body && body.error;
      this.retryAfter = retryAfter;
    }
    get transient() {
      return this.status >= 500 || this.status === 408 || this.status === 429;
    }
  }

  async function api(method, path, body) {
    const res = await fetch(withAuth(base + path), {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // a proxy's error page
    }
    if (!res.ok) throw new HttpError(res.status, json, Number(res.headers.get('Retry-After')) * 1000 || null);
    return json;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const backoff = (attempt) => Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);

  // ---------------------------------------------------------------------------------------------------------
  // The UI, in a shadow root. Static markup only; message text is always set with textContent.
  // ---------------------------------------------------------------------------------------------------------
  const CSS = `
:host { all: initial; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.hw { --accent: var(--herald-accent, #2563eb); --fg: #0f172a; --muted: #475569; --line: #e2e8f0; --bubble: #f1f5f9;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
button { font: inherit; color: inherit; cursor: pointer; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 60px; height: 60px; border: 0; border-radius: 50%;
  background: var(--accent); color: #fff; box-shadow: 0 6px 20px rgba(15, 23, 42, .28); display: grid; place-items: center; }
.launcher:hover { filter: brightness(1.08); }
.launcher svg { width: 28px; height: 28px; }
.launcher .icon-close { display: none; }
.hw[data-open] .launcher .icon-chat { display: none; }
.hw[data-open] .launcher .icon-close { display: block; }
.badge { position: absolute; top: -2px; right: -2px; min-width: 22px; height: 22px; padding: 0 6px; border-radius: 11px; background: #dc2626;
  color: #fff; font-size: 12px; font-weight: 700; line-height: 22px; text-align: center; border: 2px solid #fff; }
.launcher .warn { position: absolute; top: -2px; right: -2px; width: 22px; height: 22px; border-radius: 50%; background: #b45309; color: #fff;
  font-size: 14px; font-weight: 700; line-height: 18px; text-align: center; border: 2px solid #fff; }
.panel { position: fixed; right: 20px; bottom: 92px; z-index: 2147483000; width: 370px; height: min(580px, calc(100vh - 112px));
  display: flex; flex-direction: column; background: #fff; border-radius: 16px; overflow: hidden;
  box-shadow: 0 12px 40px rgba(15, 23, 42, .25), 0 0 0 1px rgba(15, 23, 42, .06); }
.head { display: flex; align-items: center; gap: 12px; padding: 14px 12px 14px 18px; background: var(--accent); color: #fff; }
.head .titles { flex: 1; min-width: 0; }
h2 { margin: 0; font-size: 17px; font-weight: 650; }
.status { margin: 2px 0 0; font-size: 13px; opacity: .92; display: flex; align-items: center; gap: 6px; }
.status::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #fbbf24; flex: none; }
.hw[data-connection="open"] .status::before { background: #4ade80; }
.hw[data-connection="offline"] .status::before, .hw[data-connection="error"] .status::before { background: #f87171; }
.close { width: 40px; height: 40px; border: 0; border-radius: 10px; background: transparent; color: #fff; display: grid; place-items: center; }
.close:hover { background: rgba(255, 255, 255, .16); }
.close svg { width: 22px; height: 22px; }
.close:focus-visible { outline-color: #fff; }
.alert { margin: 12px 12px 0; padding: 10px 12px; border-radius: 10px; background: #fef2f2; color: #991b1b; font-size: 14px; border: 1px solid #fecaca; }
.messages { flex: 1; margin: 0; padding: 16px 14px 8px; list-style: none; overflow-y: auto; display: flex; flex-direction: column; gap: 8px;
  overscroll-behavior: contain; }
.empty { margin: auto; color: var(--muted); text-align: center; font-size: 14px; padding: 0 24px; }
.msg { max-width: 82%; align-self: flex-start; }
.msg[data-sender="user"] { align-self: flex-end; }
.msg .author { display: block; margin: 0 0 2px 4px; font-size: 12px; font-weight: 600; color: #475569; }
.text { margin: 0; padding: 9px 13px; border-radius: 16px 16px 16px 4px; background: var(--bubble); white-space: pre-wrap; overflow-wrap: anywhere; }
.msg[data-sender="user"] .text { background: var(--accent); color: #fff; border-radius: 16px 16px 4px 16px; }
.meta { display: block; margin: 3px 6px 0; font-size: 12px; color: var(--muted); }
.msg[data-sender="user"] .meta { text-align: right; }
.msg[data-pending] .text { opacity: .75; }
.msg[data-failed] .text { background: #fee2e2; color: #7f1d1d; }
.day { align-self: center; margin: 4px 0 0; padding: 1px 10px; border-radius: 999px; background: var(--line); color: var(--muted); font-size: 12px; font-weight: 600; }
.text a { color: inherit; text-decoration: underline; }
.retry { margin-left: 6px; padding: 0; border: 0; background: none; color: var(--accent); text-decoration: underline; font-size: 12px; }
.typing { margin: 0 16px 6px; font-size: 13px; color: var(--muted); font-style: italic; }
form { display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px 12px; border-top: 1px solid var(--line); }
textarea { flex: 1; min-height: 42px; max-height: 140px; resize: none; padding: 10px 12px; border: 1px solid #cbd5e1; border-radius: 12px;
  font: inherit; color: var(--fg); background: #fff; }
textarea:focus-visible { outline-offset: 0; border-color: var(--accent); }
textarea:disabled { background: #f8fafc; }
.send { flex: none; width: 42px; height: 42px; border: 0; border-radius: 12px; background: var(--accent); color: #fff; display: grid; place-items: center; }
.send:disabled { opacity: .45; cursor: default; }
.send svg { width: 20px; height: 20px; }
.away { margin: 0; padding: 8px 12px 0; border-top: 1px solid var(--line); font-size: 13px; color: var(--muted); }
.away input { display: block; width: 100%; box-sizing: border-box; margin-top: 4px; padding: 8px 10px; border: 1px solid #cbd5e1; border-radius: 10px; font: inherit; }
.brand { margin: 0; padding: 0 0 8px; text-align: center; font-size: 11px; color: var(--muted); }
/* A phone held either way: portrait is narrow, landscape (844×390) is short; both get the whole screen. */
@media (max-width: 480px), (max-height: 480px) {
  .panel { inset: 0; width: auto; height: auto; border-radius: 0; }
  .hw[data-open] .launcher { display: none; }
}
/* Landscape phones: every pixel of height to the messages. */
@media (max-height: 480px) {
  .head { padding-top: 6px; padding-bottom: 6px; }
  .messages { padding-top: 10px; }
  form { padding-top: 6px; padding-bottom: 6px; }
  .brand { display: none; }
  /* "No one is available": the email field goes beside the message box (the screen is wide, not tall); its
     explanation stays the field's accessible name, and the header's status already says "Away". */
  .panel:has(.away:not([hidden])) { display: grid; grid-template-columns: minmax(200px, 1fr) 2fr;
    grid-template-rows: auto auto minmax(0, 1fr) auto auto; }
  .panel:has(.away:not([hidden])) > :not(.away, form) { grid-column: 1 / -1; }
  .panel:has(.away:not([hidden])) > .head { grid-row: 1; }
  .panel:has(.away:not([hidden])) > .alert { grid-row: 2; }
  .panel:has(.away:not([hidden])) > .messages { grid-row: 3; }
  .panel:has(.away:not([hidden])) > .typing { grid-row: 4; }
  .panel:has(.away:not([hidden])) > .away, .panel:has(.away:not([hidden])) > form { grid-row: 5; }
  .away:not([hidden]) { display: flex; align-items: flex-end; padding: 6px 0 6px 12px; border-top: 1px solid var(--line); }
  .away label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  .away input { margin-top: 0; }
}
@media (prefers-reduced-motion: no-preference) {
  .panel { animation: hw-in .16s ease-out; }
  @keyframes hw-in { from { opacity: 0; transform: translateY(8px); } }
}
@media (forced-colors: active) {
  .launcher, .send, .head { border: 1px solid CanvasText; }
}
`;

  const ICON_CHAT =
    '<svg class="icon-chat" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>';
  const ICON_CLOSE =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" aria-hidden="true" focusable="false"><path d="M6 6l12 12M18 6L6 18"/></svg>';
  const ICON_SEND =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"><path d="M5 12h13M13 6l6 6-6 6"/></svg>';

  const host = document.createElement('herald-widget');
  if (cfg.accent) host.style.setProperty('--herald-accent', cfg.accent);
  const shadow = host.attachShadow({ mode: 'open' });
  if ('adoptedStyleSheets' in Document.prototype && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    // A constructed sheet is not an inline <style>: pages with a strict style-src still render the widget.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = CSS;
    shadow.appendChild(style);
  }
  const root = document.createElement('div');
  root.className = 'hw';
  root.dataset.connection = 'idle';
  root.innerHTML = `
<button class="launcher" type="button" aria-haspopup="dialog" aria-expanded="false" aria-controls="hw-panel" aria-label="Open chat">
  ${ICON_CHAT}${ICON_CLOSE.replace('<svg ', '<svg class="icon-close" ')}
  <span class="badge" hidden aria-hidden="true"></span><span class="warn" hidden aria-hidden="true">!</span>
</button>
<section class="panel" id="hw-panel" role="dialog" aria-labelledby="hw-title" aria-describedby="hw-status" hidden>
  <div class="head">
    <div class="titles"><h2 id="hw-title"></h2><p class="status" id="hw-status" role="status">Connecting…</p></div>
    <button class="close" type="button" aria-label="Close chat">${ICON_CLOSE}</button>
  </div>
  <div class="alert" role="alert" hidden></div>
  <ol class="messages" aria-label="Messages" tabindex="0"><li class="empty">Ask us anything — we usually reply within minutes.</li></ol>
  <p class="typing" hidden>The operator is typing…</p>
  <div class="away" hidden>
    <label for="hw-email">No one is available right now. Leave your email with your message and we will reply there.</label>
    <input id="hw-email" type="email" autocomplete="email" placeholder="you@example.com" maxlength="254">
  </div>
  <form novalidate>
    <label class="sr-only" for="hw-input">Your message</label>
    <textarea id="hw-input" rows="1" maxlength="4000" placeholder="Write a message…" enterkeyhint="send" autocomplete="off"></textarea>
    <button class="send" type="submit" aria-label="Send message">${ICON_SEND}</button>
  </form>
  <p class="brand">Delivered by Herald</p>
  <div class="sr-only" aria-live="polite" aria-atomic="true" data-announcer></div>
</section>`;
  shadow.appendChild(root);

  const $ = (sel) => root.querySelector(sel);
  const ui = {
    launcher: $('.launcher'),
    badge: $('.badge'),
    warn: $('.warn'),
    panel: $('.panel'),
    status: $('.status'),
    close: $('.close'),
    alert: $('.alert'),
    list: $('.messages'),
    empty: $('.empty'),
    typing: $('.typing'),
    away: $('.away'),
    email: $('#hw-email'),
    form: $('form'),
    input: $('textarea'),
    send: $('.send'),
    announcer: $('[data-announcer]'),
  };
  $('#hw-title').textContent = cfg.title;

  function mount() {
    (document.body || document.documentElement).appendChild(host);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });

  // ---------------------------------------------------------------------------------------------------------
  // Messages, kept by id in chat-view.js (shared with the console); what is the widget's own is below.
  // ---------------------------------------------------------------------------------------------------------
  let messages = null; // chat-view.js's MessageList, once loaded (with herald.js, when the chat connects)
  let unread = 0;

  const SENDER_LABEL = { user: 'You', manager: 'Operator' };
  // An operator's message says who wrote it: their display name (the server never sends a visitor an email).
  const author = (m) => (m && m.sender === 'manager' && typeof m.author_name === 'string' && m.author_name) || null;
  const label = (sender, m) => author(m) || SENDER_LABEL[sender] || sender.charAt(0).toUpperCase() + sender.slice(1);

  function timeText(iso) {
    const d = iso ? new Date(iso) : new Date();
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function scrollDown() {
    ui.list.scrollTop = ui.list.scrollHeight;
  }

  /**
   * Merges one stored message ({id, sender, text, created_at, client_message_id}). `live` means it arrived on the
   * stream just now (announce it, count it unread); history and catch-up loads are not announced.
   */
  function merge(m, live) {
    const merged = messages.merge(m);
    if (!merged) return;
    if (live && m.sender !== 'user' && !merged.mine) {
      hideTyping();
      ui.announcer.textContent = `${label(m.sender, m)}: ${m.text}`;
      if (!isOpen()) {
        unread++;
        ui.badge.textContent = unread > 9 ? '9+' : String(unread);
        ui.badge.hidden = false;
        ui.launcher.setAttribute('aria-label', `Open chat, ${unread} new ${unread === 1 ? 'message' : 'messages'}`);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Connection: validate (site token), open the dialog, take the stream's position, load history, then stream
  // from that position. The position is taken before the history so nothing posted in between is missed.
  // ---------------------------------------------------------------------------------------------------------
  let dialogId = null;
  let client = null;
  let connecting = null;
  let fatal = null;
  let interrupted = false;

  const STATUS_TEXT = {
    idle: 'Connecting…',
    connecting: 'Connecting…',
    open: 'Online',
    reconnecting: 'Reconnecting…',
    offline: 'Offline — we will send your messages when you are back',
    closed: 'Disconnected',
    error: 'Chat unavailable',
  };

  // Whether an operator is available (GET .../availability: a console is open on some node); null until known.
  let available = null;
  let emailSent = false;

  function setConnection(state) {
    if (fatal && state !== 'error') return;
    root.dataset.connection = state;
    const text =
      state === 'open' && available !== null
        ? available ? 'Online — an operator is here' : 'Away — leave your email and we will reply'
        : STATUS_TEXT[state] || state;
    if (ui.status.textContent !== text) ui.status.textContent = text;
  }

  function fail(message, detail) {
    fatal = message;
    setConnection('error');
    ui.alert.textContent = message;
    ui.alert.hidden = false;
    ui.empty.hidden = true;
    ui.input.disabled = true;
    ui.send.disabled = true;
    ui.warn.hidden = false;
    ui.launcher.setAttribute('aria-label', 'Open chat (unavailable)');
    if (messages) for (const p of messages.pending.values()) markFailed(p, false);
    if (client) client.close();
    console.warn('[Herald widget] ' + message + (detail ? ' — ' + detail : ''));
  }

  function loadHerald() {
    if (window.Herald && typeof window.Herald.Client === 'function') return Promise.resolve(window.Herald);
    if (loadHerald.promise) return loadHerald.promise;
    loadHerald.promise = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = base + '/herald.js';
      s.async = true;
      s.onload = () => (window.Herald ? resolve(window.Herald) : reject(new Error('herald.js did not load')));
      s.onerror = () => {
        loadHerald.promise = null;
        reject(new Error('herald.js could not be loaded'));
      };
      document.head.appendChild(s);
    });
    return loadHerald.promise;
  }

  // The message list's code, shared with the console: a module from Herald's origin (served with CORS, as herald.js).
  function loadView() {
    if (loadView.promise) return loadView.promise;
    loadView.promise = import(base + '/chat-view.js').then(
      (view) => (messages = messages || new view.MessageList(ui.list, { label, timeText, empty: ui.empty, author })),
      (err) => {
        loadView.promise = null;
        throw err;
      },
    );
    return loadView.promise;
  }

  /**
   * Runs a request until it succeeds; network errors and 5xx/429 are retried with backoff, other errors thrown.
   * While starting, the header shows the retries; later (`quiet`) the stream's own state is what it shows.
   */
  async function persist(fn, quiet) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof HttpError && !err.transient) throw err;
        if (fatal) throw err;
        if (!quiet) setConnection(navigator.onLine === false ? 'offline' : 'reconnecting');
        await sleep((err && err.retryAfter) || backoff(attempt));
      }
    }
  }

  /** A history reload once connected: refusals end the chat (a revoked token), anything else is retried. */
  function reload(afterId) {
    persist(() => loadHistory(afterId), true).catch((err) => {
      if (err.status === 401 || err.status === 403) fail('This chat is not available on this site.', err.message);
    });
  }

  function loadHistory(afterId) {
    const get = (url) => api('GET', url);
    return messages.readHistory(get, `/api/widget/dialogs/${dialogId}/messages`, afterId, (m) => merge(m, false));
  }

  function connect() {
    if (connecting || fatal) return connecting;
    setConnection('connecting');
    connecting = (async () => {
      try {
        if (cfg.siteToken) {
          const check = await persist(() => api('POST', '/api/validate-widget-token', { token: cfg.siteToken, domain: location.host }));
          if (!check.valid) {
            fail(`This chat is not available on this site (${check.reason}).`, `the site token is not valid for ${location.host}`);
            return;
          }
        } else if (!cfg.assistantId) {
          fail('This chat is not set up.', 'the script tag needs data-site-token or data-assistant-id');
          return;
        }
        const [Herald, dialog] = await Promise.all([persist(loadHerald), persist(() => api('POST', '/api/widget/dialogs')), persist(loadView)]);
        dialogId = dialog.id;
        save({ dialogId });
        const head = await persist(() => api('GET', `/api/widget/dialogs/${dialogId}/poll`));
        await persist(() => loadHistory(0));
        startStream(Herald, head.last_event_id);
        flushPending();
      } catch (err) {
        fail(err.status === 403 || err.status === 401 ? 'This chat is not available on this site.' : 'The chat could not start.', err.message);
      }
    })();
    return connecting;
  }

  async function checkAvailability() {
    if (!dialogId || fatal) return;
    try {
      const answer = await api('GET', `/api/widget/dialogs/${dialogId}/availability`);
      available = !!(answer && answer.available);
    } catch {
      return; // keep what was known; the next check tries again
    }
    root.dataset.available = String(available);
    ui.away.hidden = available || emailSent;
    setConnection(root.dataset.connection);
  }

  function startStream(Herald, lastEventId) {
    checkAvailability();
    // A console opening or closing shows within this; the server answers from a cache, so checks cost little.
    if (!checkAvailability.timer) checkAvailability.timer = setInterval(checkAvailability, 30000);
    const auth = cfg.siteToken ? { siteToken: cfg.siteToken } : { assistantId: cfg.assistantId, guestId };
    client = new Herald.Client({ baseUrl: base, dialogId, auth, lastEventId, fetch: heraldFetch });
    client.on('message:new', (e) => merge(e.data && e.data.message, true));
    client.on('typing', (e) => {
      if (e.data && e.data.sender !== 'user') showTyping();
    });
    client.on('reset', () => {
      // The server could not replay from our position: whatever we missed is in the history.
      reload(0);
    });
    client.on('state', (s) => {
      if (s.state === 'open') {
        setConnection('open');
        if (interrupted) {
          interrupted = false;
          // Resuming replays what was missed; reading what is newer than our newest message costs one small
          // request and also covers a stream that came back from a restored database.
          reload(messages.maxId);
        }
        flushPending();
      } else if (s.state === 'reconnecting' || s.state === 'offline') {
        interrupted = true;
        setConnection(s.state);
      } else if (s.state !== 'closed') {
        setConnection(s.state);
      }
    });
    client.on('error', (e) => {
      if (e.fatal) fail(e.status === 403 || e.status === 401 ? 'This chat is not available on this site.' : 'The chat was disconnected.', e.detail || e.error);
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Sending.
  // ---------------------------------------------------------------------------------------------------------
  function markFailed(p, canRetry) {
    messages.markFailed(p, ' · Not sent', canRetry ? () => {
      p.attempts = 0;
      deliver(p.cid);
      ui.input.focus();
    } : null);
  }

  async function send(text) {
    const cid = newId();
    // Opening the chat started loading the list's code; a chat that became unavailable meanwhile says so itself.
    const view = await persist(loadView, true).catch(() => null);
    if (!view) return;
    view.addPending(cid, 'user', text, ' · Sending…');
    deliver(cid);
  }

  async function deliver(cid) {
    const p = messages && messages.pending.get(cid);
    if (!p || p.inFlight || fatal) return;
    p.inFlight = true;
    messages.sending(p, ' · Sending…');
    try {
      await connect();
      if (!dialogId) return;
      tellWhere();
      const m = await api('POST', `/api/widget/dialogs/${dialogId}/messages`, { sender: 'user', text: p.text, client_message_id: cid });
      merge(m, false);
    } catch (err) {
      if (err instanceof HttpError && !err.transient) {
        // Refused as it is (too long, say): sending it again would only be refused again.
        p.refused = true;
        messages.markFailed(p, ' · Not sent: ' + err.message, null);
        return;
      }
      // Same client_message_id on every attempt: if the first POST did reach the server, the retry returns it.
      p.attempts++;
      if (p.attempts >= SEND_ATTEMPTS) {
        markFailed(p, true);
      } else {
        p.li.querySelector('.state').textContent = ' · Waiting for the connection…';
        p.timer = setTimeout(() => deliver(cid), (err && err.retryAfter) || backoff(p.attempts - 1));
      }
    } finally {
      p.inFlight = false;
    }
  }

  /**
   * Tells the operators where the visitor writes from (page, referrer; the browser comes from the request), once
   * per page view and only once they write: a visitor who only looks costs no write. The fragment stays out (it
   * can hold a single-page app's state or a token).
   */
  let told = false;
  function tellWhere() {
    if (told || !cfg.sharePage) return;
    told = true;
    const page = location.href.split('#')[0];
    api('POST', `/api/widget/dialogs/${dialogId}/visitor`, { page_url: /^https?:/.test(page) ? page : '', referrer: document.referrer }).catch(() => {
      told = false; // the next message tries again
    });
  }

  /**
   * Sends what is queued now, whatever its backoff or "Not sent" said: called when the connection is (or may be)
   * back, so a visitor never has to press Retry after a drop (issue 19).
   */
  function flushPending() {
    if (!messages) return;
    for (const p of messages.pending.values()) {
      if (p.inFlight || p.refused) continue;
      if (p.failed) p.attempts = 0;
      deliver(p.cid);
    }
  }
  window.addEventListener('online', flushPending);

  let lastTyping = 0;
  function typing() {
    const now = Date.now();
    if (!dialogId || fatal || now - lastTyping < TYPING_EVERY) return;
    lastTyping = now;
    api('POST', `/api/widget/dialogs/${dialogId}/typing`).catch(() => {
      // ephemeral: losing one is fine
    });
  }

  let typingTimer = null;
  function showTyping() {
    ui.typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SHOWN);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    ui.typing.hidden = true;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Opening, closing, keyboard.
  // ---------------------------------------------------------------------------------------------------------
  const isOpen = () => !ui.panel.hidden;

  function open() {
    if (isOpen()) return;
    ui.panel.hidden = false;
    root.dataset.open = '';
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.launcher.setAttribute('aria-label', 'Close chat');
    unread = 0;
    ui.badge.hidden = true;
    connect();
    scrollDown();
    (fatal ? ui.close : ui.input).focus();
  }

  function close() {
    if (!isOpen()) return;
    const hadFocus = shadow.activeElement && ui.panel.contains(shadow.activeElement);
    ui.panel.hidden = true;
    delete root.dataset.open;
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.launcher.setAttribute('aria-label', fatal ? 'Open chat (unavailable)' : 'Open chat');
    // Focus returns to the launcher only when it was in the panel: never taken from the page.
    if (hadFocus) ui.launcher.focus();
  }

  ui.launcher.addEventListener('click', () => (isOpen() ? close() : open()));
  ui.close.addEventListener('click', close);
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && isOpen()) {
      e.preventDefault();
      close();
    }
  });
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = ui.input.value.trim();
    if (!text || fatal) return;
    const email = ui.away.hidden ? '' : ui.email.value.trim();
    if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      ui.email.setCustomValidity('Enter an email address such as you@example.com');
      ui.email.reportValidity();
      return;
    }
    ui.email.setCustomValidity('');
    ui.input.value = '';
    autosize();
    // The email travels with the message, where the operator reads it; it is sent once.
    if (email) {
      emailSent = true;
      ui.away.hidden = true;
    }
    send(email ? `${text}\n\n— Reply to: ${email}` : text);
  });
  ui.input.addEventListener('keydown', (e) => {
    // Enter sends, Shift+Enter is a new line; an IME composition's Enter is neither.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      ui.form.requestSubmit();
    }
  });
  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 140) + 'px';
  }
  ui.input.addEventListener('input', () => {
    autosize();
    if (ui.input.value.trim()) typing();
  });

  // A returning visitor with a dialog is connected at once, so an operator's reply shows on the launcher; a new
  // visitor costs the server nothing until they open the chat.
  if (cfg.openOnLoad) open();
  else if (memory.dialogId) connect();

  window.HeraldWidget = {
    open,
    close,
    get state() {
      return root.dataset.connection;
    },
    get dialogId() {
      return dialogId;
    },
    get guestId() {
      return guestId;
    },
  };
})();
