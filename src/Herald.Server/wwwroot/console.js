// Herald's operator console: sign in, a live list of dialogs (the operators' feed), one dialog at a time with its
// messages live, replies, read marks. Plain ES module, no framework, no build step; served by Herald at /console.
//
// The rule that fixes seed 000's "messages appear and disappear": nothing ever *replaces* the messages on screen.
// History, the stream, the operators' feed and catch-up reloads all merge into one map keyed by message id.
import '/herald.js';
import { MessageList } from '/chat-view.js';

const { Client } = globalThis.Herald;

// The operator's sign-in, shared by the tabs of this origin (docs/security.md, "The console's sign-in"): it lasts as
// long as the token (Herald:Auth:TokenLifetime, read from the JWT's exp), and signing out, a refused token or the
// expiry removes it from every tab.
const TOKEN_KEY = 'herald.console.token';
const EMAIL_KEY = 'herald.console.email';
const TYPING_EVERY = 3000;
const TYPING_SHOWN = 4000;

const $ = (id) => document.getElementById(id);
const el = {
  login: $('login'),
  loginForm: $('login-form'),
  loginError: $('login-error'),
  email: $('email'),
  password: $('password'),
  app: $('app'),
  connection: $('connection'),
  who: $('who'),
  logout: $('logout'),
  notify: $('notify'),
  banner: $('session-banner'),
  renew: $('renew'),
  dialogs: $('dialogs'),
  noDialogs: $('no-dialogs'),
  noMatch: $('no-match'),
  dialogsTitle: $('dialogs-title'),
  unreadTotal: $('unread-total'),
  placeholder: $('placeholder'),
  thread: $('thread'),
  back: $('back'),
  threadTitle: $('thread-title'),
  threadSub: $('thread-sub'),
  visitor: $('visitor'),
  threadState: $('thread-state'),
  assign: $('assign'),
  resolve: $('resolve'),
  filterStatus: $('filter-status'),
  filterAssignee: $('filter-assignee'),
  messages: $('messages'),
  typing: $('typing'),
  replyForm: $('reply-form'),
  reply: $('reply'),
  replyError: $('reply-error'),
  announcer: $('announcer'),
  relogin: $('relogin'),
  reloginForm: $('relogin-form'),
  reloginEmail: $('relogin-email'),
  reloginUsername: $('relogin-username'),
  reloginPassword: $('relogin-password'),
  reloginError: $('relogin-error'),
  reloginLater: $('relogin-later'),
};

// ---------------------------------------------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------------------------------------------
const store = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null; // storage disabled: the sign-in lasts as long as the page
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch {
      // not kept: fine for this page
    }
  },
  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch {
      // nothing kept
    }
  },
};
// Before sign-ins were shared, they lived in this tab's sessionStorage: nothing should linger there.
sessionStorage.removeItem(TOKEN_KEY);

let token = store.get(TOKEN_KEY);
let email = store.get(EMAIL_KEY) || '';

function tokenExpiry(jwt) {
  try {
    const payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
  } catch {
    return 0;
  }
}

// A kept sign-in must not outlive its token, even in a tab left open with its streams asleep.
let expiryTimer = null;
function watchExpiry() {
  clearTimeout(expiryTimer);
  const left = tokenExpiry(token) - Date.now();
  // setTimeout takes at most 2^31-1 ms; a longer wait is checked again then.
  expiryTimer = setTimeout(() => (tokenExpiry(token) <= Date.now() ? signOut('Your session has ended. Sign in again.') : watchExpiry()), Math.min(Math.max(left, 0), 2 ** 31 - 1));
}

function setToken(value) {
  token = value;
  store.set(TOKEN_KEY, value);
  store.set(EMAIL_KEY, email);
  watchExpiry();
}

class HttpError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
    this.retryAfter = retryAfter;
  }
}

async function request(method, path, body, bearer = token) {
  const headers = {};
  if (bearer) headers.Authorization = 'Bearer ' + bearer;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // a proxy's error page
  }
  if (!res.ok) throw new HttpError(res.status, json, Number(res.headers.get('Retry-After')) || null);
  return json;
}

/** An operator request; a 401 means the session is over, wherever it happens. */
async function api(method, path, body) {
  try {
    return await request(method, path, body);
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) signOut('Your session has ended. Sign in again.');
    throw err;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Retries network failures and 5xx (a restarting server) with backoff; gives up on other answers. */
async function persist(fn, alive = () => true) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err instanceof HttpError && err.status < 500 && err.status !== 429) || !alive()) throw err;
      await sleep(Math.min(15000, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5));
    }
  }
}

async function signIn(address, password) {
  const res = await request('POST', '/api/auth/login', { email: address, password }, null);
  email = address;
  setToken(res.access_token);
}

// herald.js calls this when a stream's token is about to expire (auth-expiring) or was refused; every stream
// shares one prompt. Declining leaves the streams to end at expiry, which signs the console out.
let renewing = null;
function renewToken() {
  if (!renewing) {
    renewing = new Promise((resolve, reject) => {
      el.banner.hidden = false;
      el.reloginEmail.textContent = email;
      el.reloginUsername.value = email;
      el.reloginError.textContent = '';
      el.reloginPassword.value = '';
      const finish = (ok, value) => {
        el.reloginForm.onsubmit = null;
        el.reloginLater.onclick = null;
        el.relogin.onclose = null;
        if (el.relogin.open) el.relogin.close();
        renewing = null;
        if (ok) {
          el.banner.hidden = true;
          resolve(value);
        } else {
          reject(new Error('sign-in postponed'));
        }
      };
      el.reloginForm.onsubmit = async (e) => {
        e.preventDefault();
        try {
          await signIn(email, el.reloginPassword.value);
          finish(true, token);
        } catch (err) {
          el.reloginError.textContent = err.status === 401 ? 'Wrong password.' : err.message;
        }
      };
      el.reloginLater.onclick = () => finish(false);
      el.relogin.onclose = () => finish(false);
      if (!el.relogin.open) el.relogin.showModal();
      el.reloginPassword.focus();
    });
  }
  return renewing;
}
el.renew.addEventListener('click', () => renewToken().catch(() => {}));

// ---------------------------------------------------------------------------------------------------------------
// Connection indicator: the operators' feed is the console's lifeline.
// ---------------------------------------------------------------------------------------------------------------
const TRANSPORT_NAME = { sse: 'SSE', poll: 'long polling', websocket: 'WebSocket' };
function setConnection(state, transport) {
  const text =
    state === 'open'
      ? `Live${transport ? ' · ' + (TRANSPORT_NAME[transport] || transport) : ''}`
      : { connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline', closed: 'Disconnected' }[state] || state;
  el.connection.dataset.state = state;
  const span = el.connection.querySelector('.text');
  if (span.textContent !== text) span.textContent = text;
}

// ---------------------------------------------------------------------------------------------------------------
// Dialog list, updated in place from the feed (dialog_update carries the whole summary).
// ---------------------------------------------------------------------------------------------------------------
const dialogs = new Map(); // id → dialog summary
const rows = new Map(); // id → <li>
const assistants = new Map(); // id → name
// The team (issue 19, item 10): who can be assigned a dialog, and who this operator is.
const operators = new Map(); // id → display name
let me = null; // this operator's id
// Which dialogs the list shows: a team works the open ones (GET /api/dialogs' own default).
const filter = { status: 'open', assignee: '' };

function matchesFilter(d) {
  // Listed from its first message on, as GET /api/dialogs does (a dialog opened by its address may have none).
  if (!d.last_message_at) return false;
  if (filter.status !== 'all' && (d.status || 'open') !== filter.status) return false;
  const who = d.assignee_id ?? null;
  if (filter.assignee === 'me') return who !== null && who === me;
  if (filter.assignee === 'none') return who === null;
  if (filter.assignee) return who === Number(filter.assignee);
  return true;
}

function operatorName(id) {
  if (id === me) return 'you';
  return operators.get(id) || `operator ${id}`;
}

/** "Unassigned", "Assigned to you", "Assigned to Bob Stone". */
function assigneeText(d) {
  if (d.assignee_id == null) return 'Unassigned';
  // Someone who joined the team after the list was loaded: learn their name (once; a removed one stays a number).
  if (!operators.has(d.assignee_id) && d.assignee_id !== me && !askedFor.has(d.assignee_id)) {
    askedFor.add(d.assignee_id);
    refreshOperators();
  }
  return `Assigned to ${operatorName(d.assignee_id)}`;
}

const askedFor = new Set();
let operatorsLoading = null;
function refreshOperators() {
  if (operatorsLoading) return operatorsLoading;
  operatorsLoading = Promise.all([api('GET', '/api/operators/me'), api('GET', '/api/operators')])
    .then(([self, team]) => {
      me = self.id;
      operators.clear();
      for (const o of team) operators.set(o.id, o.display_name);
      fillOperatorOptions();
      for (const d of dialogs.values()) renderRow(d);
      if (current) showThreadState(openSummary());
    })
    .catch(() => {})
    .finally(() => (operatorsLoading = null));
  return operatorsLoading;
}

/** The assignee filter's and the thread's "Assigned to" choices: everyone on the team, this operator first. */
function fillOperatorOptions() {
  const option = (value, text) => Object.assign(document.createElement('option'), { value: String(value), textContent: text });
  const others = [...operators].filter(([id]) => id !== me).sort((a, b) => a[1].localeCompare(b[1]));
  const mine = operators.has(me) ? [option(me, `Me (${operators.get(me)})`)] : [];
  const assignValue = el.assign.value;
  el.assign.replaceChildren(option('', 'Nobody'), ...mine, ...others.map(([id, name]) => option(id, name)));
  el.assign.value = assignValue;
  const filterValue = el.filterAssignee.value;
  el.filterAssignee.replaceChildren(option('', 'Anyone'), option('me', 'Me'), option('none', 'Unassigned'), ...others.map(([id, name]) => option(id, name)));
  el.filterAssignee.value = [...el.filterAssignee.options].some((o) => o.value === filterValue) ? filterValue : '';
}

function visitorName(d) {
  if (!d.guest_id) return `Dialog #${d.id}`;
  // The widget's own ids are UUIDs: their first 8 hex digits tell visitors apart. A site's own ids ("user-1042",
  // an email) are shown whole: cutting them could make two visitors look the same.
  return `Visitor ${/^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(d.guest_id) ? d.guest_id.slice(0, 8) : d.guest_id}`;
}

function shortTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

const activity = (d) => Date.parse(d.last_message_at || d.created_at) || 0;

/** A newer summary wins; a list reload that started before a live update must not roll it back. */
function upsertDialog(d) {
  const old = dialogs.get(d.id);
  if (old && activity(old) > activity(d)) return;
  dialogs.set(d.id, d);
  renderRow(d);
}

// Presence (issue 17/19): which visitors have their widget open now, and whether visitors see an operator as
// available. Polled: one small request each per interval, whatever the number of dialogs.
let online = new Set();
let presenceTimer = null;

async function refreshPresence() {
  if (!token) return;
  try {
    const [feedPresence, topics] = await Promise.all([
      api('GET', '/api/topics/dialogs/presence'),
      api('GET', '/api/topics?prefix=dialog:'),
    ]);
    const operators = feedPresence.subjects.filter((s) => s.kind === 'operator').length;
    const availability = document.getElementById('availability');
    availability.textContent = operators
      ? `Visitors see: available (${operators} ${operators === 1 ? 'operator' : 'operators'} online)`
      : 'Visitors see: away';
    online = new Set(topics.topics.map((t) => Number(t.topic.slice('dialog:'.length))));
    for (const [id, li] of rows) {
      const b = li.firstChild;
      if (online.has(id)) b.dataset.online = '';
      else delete b.dataset.online;
    }
  } catch {
    // Shown again at the next interval; the chat itself does not depend on it.
  }
}

function startPresence() {
  refreshPresence();
  if (!presenceTimer) presenceTimer = setInterval(refreshPresence, 10000);
}

function renderRow(d) {
  let li = rows.get(d.id);
  // Outside the filter (resolved while the list shows open ones, assigned to someone else): off the list.
  if (!matchesFilter(d)) {
    if (li) {
      const focused = document.activeElement === li.firstChild;
      li.remove();
      rows.delete(d.id);
      if (focused) el.dialogsTitle.focus();
    }
    updateTotals();
    return;
  }
  if (!li) {
    li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'dialog';
    b.dataset.dialogId = String(d.id);
    // The row is named by what it shows (no aria-label that differs from it: WCAG 2.5.3, "label in name"); the
    // hidden separators make it read as a sentence.
    b.innerHTML =
      '<span class="name"></span><span class="sr-only">, </span><span class="time"></span><span class="sr-only">: </span>' +
      '<span class="preview"></span><span class="sr-only">, </span><span class="unread" hidden></span><span class="sr-only unread-label" hidden> unread, </span>' +
      '<span class="assistant"></span><span class="sr-only">, </span><span class="team"><span class="status"></span><span class="assignee"></span></span>';
    b.addEventListener('click', () => openDialog(d.id, true));
    li.append(b);
    rows.set(d.id, li);
  }
  const b = li.firstChild;
  const name = visitorName(d);
  const assistant = assistants.get(d.assistant_id);
  b.querySelector('.name').textContent = name;
  b.querySelector('.assistant').textContent = assistant || '';
  const status = b.querySelector('.status');
  status.dataset.status = d.status || 'open';
  status.textContent = d.status === 'resolved' ? 'Resolved' : '';
  b.querySelector('.assignee').textContent = assigneeText(d);
  b.querySelector('.time').textContent = shortTime(d.last_message_at || d.created_at);
  const preview = d.last_message_text ? (d.last_message_sender === 'manager' ? 'You: ' : '') + d.last_message_text : 'No messages yet';
  b.querySelector('.preview').textContent = preview;
  const unread = b.querySelector('.unread');
  unread.hidden = !d.unread_count;
  unread.textContent = String(d.unread_count);
  b.querySelector('.unread-label').hidden = !d.unread_count;
  if (d.unread_count) b.dataset.unread = '';
  else delete b.dataset.unread;
  if (online.has(d.id)) b.dataset.online = '';
  else delete b.dataset.online;
  b.setAttribute('aria-current', current && current.id === d.id ? 'true' : 'false');
  placeRow(li, d);
  updateTotals();
}

function placeRow(li, d) {
  // Most recent activity first. Moving a focused button would drop its focus; give it back.
  const focused = document.activeElement === li.firstChild;
  let before = null;
  for (const other of el.dialogs.children) {
    if (other === li) continue;
    const od = dialogs.get(Number(other.firstChild.dataset.dialogId));
    if (od && (activity(od) < activity(d) || (activity(od) === activity(d) && od.id < d.id))) {
      before = other;
      break;
    }
  }
  if (li.nextSibling !== before || li.parentNode !== el.dialogs) el.dialogs.insertBefore(li, before);
  if (focused && document.activeElement !== li.firstChild) li.firstChild.focus();
}

function updateTotals() {
  let total = 0;
  for (const d of dialogs.values()) total += d.unread_count || 0;
  el.unreadTotal.hidden = total === 0;
  el.unreadTotal.textContent = String(total);
  el.unreadTotal.setAttribute('aria-label', `${total} unread`);
  el.noDialogs.hidden = dialogs.size > 0;
  el.noMatch.hidden = !(rows.size === 0 && dialogs.size > 0);
  const placeholder = dialogs.size > 0 ? 'Select a dialog to read and reply.' : 'No conversations yet. When a visitor writes in the chat, the dialog appears in the list and opens here.';
  if (el.placeholder.firstElementChild.textContent !== placeholder) el.placeholder.firstElementChild.textContent = placeholder;
  document.title = total ? `(${total}) Herald console` : 'Herald console';
}

let assistantsLoading = null;
function refreshAssistants() {
  if (assistantsLoading) return;
  assistantsLoading = api('GET', '/api/assistants')
    .then((names) => {
      for (const a of names) assistants.set(a.id, a.name);
      for (const d of dialogs.values()) renderRow(d);
    })
    .catch(() => {})
    .finally(() => (assistantsLoading = null));
}

function dialogsQuery() {
  const q = new URLSearchParams({ status: filter.status });
  if (filter.assignee) q.set('assignee', filter.assignee);
  return q.toString();
}

async function loadDialogs() {
  const [list, names] = await Promise.all([api('GET', `/api/dialogs?${dialogsQuery()}`), api('GET', '/api/assistants'), refreshOperators()]);
  for (const a of names) assistants.set(a.id, a.name);
  for (const d of list) upsertDialog(d);
  updateTotals();
}

// ---------------------------------------------------------------------------------------------------------------
// The open dialog. One object per opening: late answers for a dialog that is no longer open are dropped.
// ---------------------------------------------------------------------------------------------------------------
let current = null;

const SENDER_LABEL = { user: 'Visitor', manager: 'You' };
// A colleague's message is shown with their name; this operator's own (and those sent before names were kept) as "You".
const author = (m) => (m && m.sender === 'manager' && m.author_id && m.author_id !== me && m.author_name) || null;
const label = (sender, m) => author(m) || SENDER_LABEL[sender] || sender.charAt(0).toUpperCase() + sender.slice(1);

class Thread {
  constructor(id) {
    this.id = id;
    // What an empty thread is, shown once its history has loaded empty (a dialog opened from a link or by id).
    this.empty = document.createElement('li');
    this.empty.className = 'empty';
    this.empty.hidden = true;
    this.empty.textContent = 'No messages in this dialog yet. The visitor opened the chat but has not written; what you send appears in their chat.';
    this.messages = new MessageList(el.messages, { label, timeText: shortTime, empty: this.empty, author });
    this.client = null;
    this.closed = false;
    this.interrupted = false;
    this.lastTyping = 0;
  }

  alive() {
    return !this.closed && current === this;
  }

  /** Merges a stored message; `live` = it just arrived (announce it, mark the dialog read). */
  merge(m, live) {
    if (!this.alive() || !m || m.dialog_id !== this.id) return;
    const merged = this.messages.merge(m);
    if (merged && live && m.sender !== 'manager' && !merged.mine) {
      if (!this.visitorKnown) this.loadVisitor();
      this.hideTyping();
      el.announcer.textContent = `${label(m.sender, m)}: ${m.text}`;
      this.markReadSoon();
    }
  }

  loadHistory(afterId) {
    const get = (url) => api('GET', url);
    return this.messages.readHistory(get, `/api/dialogs/${this.id}/messages`, afterId, (m) => this.merge(m, false), () => this.alive());
  }

  async open() {
    const alive = () => this.alive();
    // The stream's position first, then the history: whatever is posted in between arrives on the stream.
    const head = await persist(() => api('GET', `/api/dialogs/${this.id}/poll`), alive);
    await persist(() => this.loadHistory(0), alive);
    if (!this.alive()) return;
    // Opened by id (a link, a reload): the header's status and assignee come from the dialog itself.
    if (!dialogs.has(this.id)) {
      const d = await api('GET', `/api/dialogs/${this.id}`).catch(() => null);
      if (d && this.alive() && !dialogs.has(this.id)) {
        this.summary = d;
        showThreadState(d);
      }
    }
    if (this.messages.byId.size === 0 && this.messages.pending.size === 0) this.empty.hidden = false;
    this.loadVisitor();
    this.markRead();
    const client = (this.client = new Client({ dialogId: this.id, auth: { token, refreshToken: renewToken }, lastEventId: head.last_event_id }));
    client.on('message:new', (e) => this.merge(e.data && e.data.message, true));
    client.on('typing', (e) => {
      if (e.data && e.data.sender === 'user') this.showTyping();
    });
    client.on('reset', () => persist(() => this.loadHistory(0), alive).catch(() => {}));
    client.on('state', (s) => {
      if (s.state === 'open') {
        if (this.interrupted) persist(() => this.loadHistory(this.messages.maxId), alive).catch(() => {});
        this.interrupted = false;
        this.flush();
      } else if (s.state === 'reconnecting' || s.state === 'offline') {
        this.interrupted = true;
      }
    });
    client.on('error', (e) => {
      if (e.fatal && e.status === 401) signOut('Your session has ended. Sign in again.');
    });
  }

  /** Where the visitor is (page, referrer, browser), as their widget last said; asked again when they write. */
  async loadVisitor() {
    try {
      const v = await api('GET', `/api/dialogs/${this.id}/visitor`);
      if (this.alive()) this.visitorKnown = showVisitor(v);
    } catch {
      // context only: the conversation works without it
    }
  }

  markRead() {
    clearTimeout(this.readTimer);
    api('POST', `/api/dialogs/${this.id}/read`).catch(() => {});
  }

  markReadSoon() {
    // Only what the operator can see counts as read.
    if (document.visibilityState !== 'visible') return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.alive() && this.markRead(), 400);
  }

  send(text) {
    const cid = crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    this.messages.addPending(cid, 'manager', text, 'Sending…');
    this.deliver(cid);
  }

  async deliver(cid) {
    const p = this.messages.pending.get(cid);
    if (!p || p.inFlight || !this.alive()) return;
    p.inFlight = true;
    this.messages.sending(p, 'Sending…');
    try {
      // client_message_id makes a retry after a lost answer return the first message instead of a second one.
      const m = await api('POST', `/api/dialogs/${this.id}/messages`, { text: p.text, client_message_id: cid });
      this.merge(m, false);
      if (![...this.messages.pending.values()].some((q) => q.failed)) el.replyError.textContent = '';
    } catch (err) {
      const transient = !(err instanceof HttpError) || err.status >= 500 || err.status === 429;
      p.attempts++;
      if (!transient) {
        // Refused as it is: sending it again would only be refused again.
        p.refused = true;
        this.messages.markFailed(p, 'Not sent', null);
        el.replyError.textContent = `Not sent: ${err.message}.`;
      } else if (p.attempts < 6) {
        p.li.querySelector('.state').textContent = 'Waiting for the connection…';
        p.timer = setTimeout(() => this.deliver(cid), (err.retryAfter ? err.retryAfter * 1000 : 0) || Math.min(15000, 1000 * 2 ** (p.attempts - 1)));
      } else {
        this.messages.markFailed(p, 'Not sent', () => {
          p.attempts = 0;
          this.deliver(cid);
          el.reply.focus();
        });
        el.replyError.textContent = `Not sent: ${err.message}. It is sent again as soon as the connection is back, or press Retry.`;
      }
    } finally {
      p.inFlight = false;
    }
  }

  /** Sends what is queued now, whatever its backoff or "Not sent" said: the connection is (or may be) back. */
  flush() {
    for (const p of this.messages.pending.values()) {
      if (p.inFlight || p.refused) continue;
      if (p.failed) p.attempts = 0;
      this.deliver(p.cid);
    }
  }

  typing() {
    const now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY) return;
    this.lastTyping = now;
    api('POST', `/api/dialogs/${this.id}/typing`).catch(() => {});
  }

  showTyping() {
    el.typing.hidden = false;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.hideTyping(), TYPING_SHOWN);
  }

  hideTyping() {
    clearTimeout(this.typingTimer);
    el.typing.hidden = true;
  }

  close() {
    this.closed = true;
    clearTimeout(this.readTimer);
    clearTimeout(this.typingTimer);
    if (this.client) this.client.close();
  }
}

function openDialog(id, focusReply) {
  if (current && current.id === id) {
    if (focusReply) el.reply.focus();
    return;
  }
  if (current) current.close();
  const thread = (current = new Thread(id));
  history.replaceState(null, '', `#dialog-${id}`);
  for (const [rowId, li] of rows) li.firstChild.setAttribute('aria-current', rowId === id ? 'true' : 'false');
  const d = dialogs.get(id);
  el.placeholder.hidden = true;
  el.thread.hidden = false;
  el.app.dataset.view = 'thread';
  el.threadTitle.textContent = d ? visitorName(d) : `Dialog #${id}`;
  el.threadSub.textContent = d ? [assistants.get(d.assistant_id), d.guest_id && `guest ${d.guest_id}`].filter(Boolean).join(' · ') : '';
  el.visitor.replaceChildren();
  el.visitor.hidden = true;
  showThreadState(d);
  el.messages.replaceChildren(thread.empty);
  el.typing.hidden = true;
  el.replyError.textContent = '';
  if (focusReply) el.reply.focus();
  thread.open().catch((err) => {
    if (thread.alive()) el.replyError.textContent = `Could not open the dialog: ${err.message}`;
  });
}

// "Chrome 131 on Windows" from a User-Agent: the names operators know, not a full parser (first match wins).
const BROWSERS = [
  [/Edg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/OPR\/(\d+)/, 'Opera'],
  [/(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
  [/(?:Chrome|CriOS)\/(\d+)/, 'Chrome'],
  [/Version\/(\d+).*Safari\//, 'Safari'],
];
const SYSTEMS = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Windows/, 'Windows'],
  [/CrOS/, 'ChromeOS'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux/, 'Linux'],
];
function browserName(ua) {
  if (!ua) return '';
  const browser = BROWSERS.map(([re, name]) => (re.exec(ua) ? `${name} ${re.exec(ua)[1]}` : null)).find(Boolean);
  const system = (SYSTEMS.find(([re]) => re.test(ua)) || [])[1];
  return browser ? browser + (system ? ` on ${system}` : '') : ua.slice(0, 60);
}

/** Fills the thread header's visitor line; returns whether the widget has said anything. */
function showVisitor(v) {
  const parts = [];
  if (v.page_url) {
    const a = document.createElement('a');
    a.href = v.page_url; // an absolute http(s) address: the server accepts nothing else
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    a.textContent = v.page_url.replace(/^https?:\/\//, '');
    a.title = v.page_url;
    parts.push(['On ', a]);
  }
  if (v.referrer) parts.push([`from ${v.referrer.replace(/^https?:\/\//, '').replace(/\/$/, '')}`]);
  if (v.user_agent) parts.push([browserName(v.user_agent)]);
  el.visitor.replaceChildren(...parts.flatMap((p, i) => (i ? [' · ', ...p] : p)));
  el.visitor.hidden = parts.length === 0;
  return parts.length > 0;
}

/** The open dialog's summary: from the list, or as read when it was opened by its address. */
function openSummary() {
  return current ? dialogs.get(current.id) || current.summary || null : null;
}

/** The open dialog's status and assignee, in its header and its controls. */
function showThreadState(d) {
  el.resolve.disabled = el.assign.disabled = !d;
  if (!d) {
    el.threadState.textContent = '';
    return;
  }
  const resolved = d.status === 'resolved';
  el.threadState.dataset.status = d.status || 'open';
  el.threadState.textContent = `${resolved ? 'Resolved' : 'Open'} · ${assigneeText(d)}`;
  el.resolve.textContent = resolved ? 'Reopen' : 'Resolve';
  const value = d.assignee_id == null ? '' : String(d.assignee_id);
  if (value && ![...el.assign.options].some((o) => o.value === value)) el.assign.append(new Option(operatorName(d.assignee_id), value));
  el.assign.value = value;
}

/** PUTs a change of the open dialog (status or assignee); the answer is the new summary, also announced on the feed. */
async function changeDialog(path, body, done) {
  const thread = current;
  if (!thread) return;
  el.replyError.textContent = '';
  try {
    const d = await api('PUT', `/api/dialogs/${thread.id}/${path}`, body);
    if (dialogs.has(d.id) || d.last_message_at) upsertDialog(d);
    else thread.summary = d;
    if (current === thread) {
      showThreadState(d);
      el.announcer.textContent = done(d);
    }
  } catch (err) {
    if (current === thread) {
      el.replyError.textContent = `Not changed: ${err.message}.`;
      showThreadState(openSummary());
    }
  }
}

el.resolve.addEventListener('click', () => {
  const d = openSummary();
  const status = d && d.status === 'resolved' ? 'open' : 'resolved';
  changeDialog('status', { status }, (n) => (n.status === 'resolved' ? 'Dialog resolved.' : 'Dialog reopened.'));
});

el.assign.addEventListener('change', () => {
  const value = el.assign.value;
  changeDialog('assignee', { operator_id: value ? Number(value) : null }, (n) => `${assigneeText(n)}.`);
});

for (const [select, key] of [[el.filterStatus, 'status'], [el.filterAssignee, 'assignee']]) {
  select.addEventListener('change', () => {
    filter[key] = select.value;
    // The feed keeps every known dialog current whatever the filter: show those that match now, then ask for the rest.
    for (const d of dialogs.values()) renderRow(d);
    if (token) loadDialogs().catch(() => {});
  });
}

function closeDialog() {
  if (current) current.close();
  current = null;
  history.replaceState(null, '', location.pathname);
  el.thread.hidden = true;
  el.placeholder.hidden = false;
  el.app.dataset.view = 'list';
  for (const li of rows.values()) li.firstChild.setAttribute('aria-current', 'false');
}

// ---------------------------------------------------------------------------------------------------------------
// The operators' feed: every dialog's new messages and summaries on one connection.
// ---------------------------------------------------------------------------------------------------------------
let feed = null;
let feedInterrupted = false;

async function startFeed() {
  const signedIn = token;
  const alive = () => token === signedIn && !!token;
  const head = await persist(() => api('GET', '/api/poll?topic=dialogs'), alive);
  await persist(loadDialogs, alive);
  if (!alive()) return;
  // Signed in, the list is where work starts: its first row takes the focus the heading held meanwhile, unless
  // the operator has moved it elsewhere.
  const first = el.dialogs.querySelector('.dialog');
  if (first && document.activeElement === el.dialogsTitle) first.focus();
  feed = new Client({ admin: true, auth: { token, refreshToken: renewToken }, lastEventId: head.last_event_id });
  feed.on('dialog_update', (e) => {
    const d = e.data && e.data.dialog;
    if (!d) return;
    // Listed from its first message on, as GET /api/dialogs does: widgets opened and never written in (a flood of
    // them, even) must not push the visitors who wrote off the list, nor be announced one by one.
    const listed = dialogs.has(d.id);
    if (!listed && !d.last_message_at) {
      // Not listed, but open (by its address): its header follows.
      if (current && current.id === d.id) {
        current.summary = d;
        showThreadState(d);
      }
      return;
    }
    // A dialog of an assistant created after the list was loaded: learn its name.
    if (!assistants.has(d.assistant_id)) refreshAssistants();
    upsertDialog(d);
    if (current && current.id === d.id) showThreadState(openSummary());
    if (!listed) el.announcer.textContent = `New dialog: ${visitorName(d)}`;
  });
  feed.on('new_message', (e) => {
    if (!e.data) return;
    if (current) current.merge(e.data.message, true);
    notifyMessage(e.data.dialog_id, e.data.message);
  });
  startPresence();
  feed.on('reset', () => persist(loadDialogs, alive).catch(() => {}));
  feed.on('state', (s) => {
    setConnection(s.state, s.transport);
    if (s.state === 'open' && feedInterrupted) {
      feedInterrupted = false;
      persist(loadDialogs, alive).catch(() => {});
    } else if (s.state === 'reconnecting' || s.state === 'offline') {
      feedInterrupted = true;
    }
  });
  feed.on('error', (e) => {
    if (e.fatal && e.status === 401) signOut('Your session has ended. Sign in again.');
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Notice: a short sound and, when allowed, a desktop notification for a visitor's message the operator is not
// looking at (another dialog, or the console in a background tab). The browser asks for permission once, when the
// operator presses "Turn on notifications"; never by itself on load, and never again once answered.
// ---------------------------------------------------------------------------------------------------------------
const NOTIFY_ASKED_KEY = 'herald.console.notify-asked';
const canNotify = typeof Notification === 'function';

function showNotifyOffer() {
  el.notify.hidden = !canNotify || Notification.permission !== 'default' || store.get(NOTIFY_ASKED_KEY) === '1';
}

el.notify.addEventListener('click', async () => {
  store.set(NOTIFY_ASKED_KEY, '1');
  el.notify.hidden = true;
  try {
    await Notification.requestPermission();
  } catch {
    // an old browser's callback form, or refused: sound still plays
  }
});

let audio = null;
function chime() {
  try {
    // Made, not loaded: the CSP allows no media source but our own, and a file would be one more request.
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch {
    // no audio (autoplay rules before the first click): the list and the title still show it
  }
}

function notifyMessage(dialogId, m) {
  if (!m || m.sender !== 'user') return;
  const watching = document.visibilityState === 'visible' && current && current.id === dialogId;
  if (watching) return;
  const d = dialogs.get(dialogId);
  chime();
  if (!canNotify || Notification.permission !== 'granted') return;
  // One notification per dialog (tag): a visitor writing five lines replaces it rather than stacking five.
  const n = new Notification(d ? visitorName(d) : 'New dialog', { body: m.text.slice(0, 200), tag: `herald-dialog-${dialogId}` });
  n.onclick = () => {
    window.focus();
    openDialog(dialogId, true);
    n.close();
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Screens
// ---------------------------------------------------------------------------------------------------------------
function showLogin(message) {
  el.app.hidden = true;
  el.login.hidden = false;
  el.loginError.textContent = message || '';
  if (email) el.email.value = email;
  (email ? el.password : el.email).focus();
}

function showApp() {
  el.login.hidden = true;
  el.app.hidden = false;
  el.who.textContent = email;
  showNotifyOffer();
  setConnection('connecting');
  startFeed().catch((err) => {
    if (!(err instanceof HttpError && err.status === 401)) setConnection('closed');
  });
  const m = /^#dialog-(\d+)$/.exec(location.hash);
  if (m) openDialog(Number(m[1]), false);
  // The sign-in form is gone: without this, focus falls to <body> and a keyboard user starts over from the top.
  else el.dialogsTitle.focus();
}

function signOut(message) {
  if (!token) return;
  token = null;
  store.remove(TOKEN_KEY);
  clearTimeout(expiryTimer);
  if (feed) feed.close();
  feed = null;
  if (current) current.close();
  current = null;
  if (el.relogin.open) el.relogin.close();
  el.banner.hidden = true;
  dialogs.clear();
  rows.clear();
  el.dialogs.replaceChildren();
  el.messages.replaceChildren();
  el.thread.hidden = true;
  el.placeholder.hidden = false;
  showLogin(message);
}

el.loginForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const address = el.email.value.trim();
  if (!address || !el.password.value) {
    el.loginError.textContent = 'Enter your email and password.';
    return;
  }
  const button = el.loginForm.querySelector('button');
  button.disabled = true;
  el.loginError.textContent = '';
  try {
    await signIn(address, el.password.value);
    el.password.value = '';
    showApp();
  } catch (err) {
    el.loginError.textContent =
      err.status === 401 ? 'Wrong email or password.' : err.status === 429 ? `Too many attempts; try again in ${err.retryAfter || 60} s.` : `Sign-in failed: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});

el.logout.addEventListener('click', () => signOut('Signed out.'));
el.back.addEventListener('click', () => {
  const id = current && current.id;
  closeDialog();
  const row = id && rows.get(id);
  if (row) row.firstChild.focus();
});

// The dialog list is a list: arrow keys, Home and End move through its rows (Tab still works too).
el.dialogs.addEventListener('keydown', (e) => {
  const buttons = [...el.dialogs.querySelectorAll('.dialog')];
  const at = buttons.indexOf(document.activeElement);
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[e.key];
  if (at < 0 || to === undefined || e.altKey || e.ctrlKey || e.metaKey) return;
  e.preventDefault();
  buttons[Math.max(0, Math.min(buttons.length - 1, to))].focus();
});

el.replyForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = el.reply.value.trim();
  if (!text || !current) return;
  el.reply.value = '';
  current.send(text);
});
el.reply.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    el.replyForm.requestSubmit();
  }
});
el.reply.addEventListener('input', () => {
  if (current && el.reply.value.trim()) current.typing();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && current && !el.relogin.open && el.app.dataset.view === 'thread' && window.matchMedia('(max-width: 760px)').matches) {
    el.back.click();
  }
});
window.addEventListener('online', () => current && current.flush());
document.addEventListener('visibilitychange', () => {
  const d = current && dialogs.get(current.id);
  if (document.visibilityState === 'visible' && d && d.unread_count) current.markRead();
});

// Another tab signed in, renewed the sign-in, or signed out.
window.addEventListener('storage', (e) => {
  if (e.key !== TOKEN_KEY || e.storageArea !== localStorage) return;
  if (!e.newValue) {
    signOut('Signed out in another tab.');
  } else if (!token) {
    email = store.get(EMAIL_KEY) || '';
    token = e.newValue;
    watchExpiry();
    showApp();
  } else {
    // A renewed token of this operator: the next request and reconnect use it (open streams keep theirs).
    token = e.newValue;
    watchExpiry();
  }
});

if (token && tokenExpiry(token) > Date.now() + 5000) {
  watchExpiry();
  showApp();
} else {
  store.remove(TOKEN_KEY);
  token = null;
  showLogin();
}
