// The messages of one dialog on screen, shared by the operator console (which imports it) and the widget (which
// import()s it from Herald's origin, as it loads herald.js): how a bubble is built, and how stored messages merge
// with the ones being sent. Plain ES module, no build step; what differs by side (labels, the time shown, the
// pending text) is given by the caller.
//
// Messages are kept by id: history, the stream and catch-up reloads all merge, nothing replaces what is shown. A
// sent message is shown at once under its client_message_id and becomes the stored message when the POST answers
// or the stream brings it, whichever comes first; neither adds a second bubble.

const HISTORY_PAGE = 200;

// Web addresses in message text become links. Only http(s), so no javascript:, data: or other scheme can be
// clicked; the link is built with DOM calls (text stays text) and opens in a new tab without window.opener or a
// Referer (the visitor's page address is not the other site's business).
const LINK = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'"]/;
const CLOSERS = { ')': '(', ']': '[', '}': '{' };

/** Appends `text` to `parent` as text nodes and <a> elements for its http(s) addresses. */
export function appendLinkified(parent, text) {
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    // Sentence punctuation after an address is not part of it; a closing bracket is, when its opener is too.
    let href = match[0];
    for (;;) {
      const last = href[href.length - 1];
      const opener = CLOSERS[last];
      if (TRAILING.test(last) || (opener && count(href, opener) < count(href, last))) href = href.slice(0, -1);
      else break;
    }
    let url;
    try {
      url = new URL(href);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    if (match.index > at) parent.append(text.slice(at, match.index));
    const a = document.createElement('a');
    a.href = url.href;
    a.textContent = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    parent.append(a);
    at = match.index + href.length;
  }
  if (at < text.length) parent.append(text.slice(at));
}

function count(s, ch) {
  return s.split(ch).length - 1;
}

/** The local calendar day of a time, as a key ("2026-12-04"), or null. */
function dayKey(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return null;
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "Today", "Yesterday", "Monday, 30 November" or, another year, "30 November 2025" (the reader's locale). */
export function dayText(iso, now = new Date()) {
  const d = new Date(iso);
  const key = dayKey(iso);
  if (key === dayKey(now.toISOString())) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (key === dayKey(yesterday.toISOString())) return 'Yesterday';
  return d.getFullYear() === now.getFullYear()
    ? d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' })
    : d.toLocaleDateString([], { year: 'numeric', month: 'long', day: 'numeric' });
}

export class MessageList {
  /**
   * @param {HTMLElement} list the <ol> the bubbles go in
   * @param {{label: (sender: string, m?: object) => string, timeText: (iso: string|null) => string, empty?: HTMLElement,
   *   author?: (m: object) => string|null}} side
   *   how this side names senders (for screen readers; `m` is the stored message when there is one) and writes times,
   *   the list's "no messages yet" item, and which messages show their author's name (an operator's display name)
   */
  constructor(list, side) {
    this.list = list;
    this.label = side.label;
    this.timeText = side.timeText;
    this.empty = side.empty || null;
    this.author = side.author || (() => null);
    this.byId = new Map(); // message id → <li>
    this.pending = new Map(); // client_message_id → {cid, li, text, attempts, inFlight, failed, timer}
    this.maxId = 0;
  }

  bubble(sender, text, iso, m = null) {
    const li = document.createElement('li');
    li.className = 'msg';
    li.dataset.sender = sender;
    const who = document.createElement('span');
    who.className = 'sr-only';
    who.textContent = this.label(sender, m) + ': ';
    // The author's name, shown where the side wants it (the widget: which operator answered). Screen readers have
    // it already from the label, so the visible copy is hidden from them.
    const author = m && this.author(m);
    if (author) {
      const name = document.createElement('span');
      name.className = 'author';
      name.setAttribute('aria-hidden', 'true');
      name.textContent = author;
      li.append(name);
    }
    const p = document.createElement('p');
    p.className = 'text';
    appendLinkified(p, text);
    const meta = document.createElement('span');
    meta.className = 'meta';
    const time = document.createElement('time');
    if (iso) time.dateTime = iso;
    time.textContent = this.timeText(iso);
    const state = document.createElement('span');
    state.className = 'state';
    meta.append(time, state);
    // The visible sender is implied by the side; screen readers get it spelled out first.
    li.append(who, p, meta);
    return li;
  }

  /**
   * Reads the stored messages after `afterId` (0: all), oldest first, a page at a time, through `get(url)` from
   * `path` (the dialog's messages endpoint), handing each to `merge`; stops early when `alive()` turns false.
   */
  async readHistory(get, path, afterId, merge, alive = () => true) {
    for (let after = afterId || 0; alive(); ) {
      const page = await get(`${path}?limit=${HISTORY_PAGE}${after ? '&after_id=' + after : ''}`);
      for (const m of page) merge(m);
      if (page.length < HISTORY_PAGE) return;
      after = page[page.length - 1].id;
    }
  }

  nearBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  }

  scrollDown() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  /** Shows a message being sent, below every stored one, until the server has it; returns its bookkeeping. */
  addPending(cid, sender, text, stateText) {
    const li = this.bubble(sender, text, null);
    li.dataset.pending = '';
    li.querySelector('.state').textContent = stateText;
    const p = { cid, li, text, attempts: 0, inFlight: false, failed: false, timer: null };
    this.pending.set(cid, p);
    this.showing();
    this.list.append(li);
    this.scrollDown();
    return p;
  }

  /**
   * Marks a message being sent as not sent, with `text` as its state; with `retry`, adds a Retry button that calls
   * it (the same client_message_id goes again, so a send that did reach the server is not stored twice).
   */
  markFailed(p, text, retry) {
    p.failed = true;
    p.li.dataset.failed = '';
    const state = p.li.querySelector('.state');
    state.textContent = text;
    if (!retry) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'retry';
    button.textContent = 'Retry';
    button.setAttribute('aria-label', 'Retry sending: ' + p.text.slice(0, 60));
    button.addEventListener('click', retry);
    state.append(' ', button);
  }

  /** Takes a message back to "being sent": clears a failure and a scheduled retry. */
  sending(p, text) {
    clearTimeout(p.timer);
    p.timer = null;
    p.failed = false;
    delete p.li.dataset.failed;
    p.li.querySelector('.state').textContent = text;
  }

  /**
   * Merges one stored message ({id, sender, text, created_at, client_message_id}). Returns null when it is not a
   * message or is shown already, else whether it was one of ours being sent (`mine`).
   */
  merge(m) {
    if (!m || typeof m.id !== 'number' || this.byId.has(m.id)) return null;
    const stick = this.nearBottom();
    const mine = !!m.client_message_id && this.pending.get(m.client_message_id);
    let li;
    if (mine) {
      this.pending.delete(m.client_message_id);
      clearTimeout(mine.timer);
      li = mine.li;
      delete li.dataset.pending;
      delete li.dataset.failed;
      li.querySelector('.state').textContent = '';
      const t = li.querySelector('time');
      li.dataset.day = dayKey(m.created_at) || '';
      t.dateTime = m.created_at;
      t.textContent = this.timeText(m.created_at);
      li.remove();
    } else {
      li = this.bubble(m.sender, m.text, m.created_at, m);
      li.dataset.day = dayKey(m.created_at) || '';
    }
    li.dataset.messageId = String(m.id);
    this.byId.set(m.id, li);
    if (m.id > this.maxId) this.maxId = m.id;
    this.showing();
    this.place(li, m.id);
    if (stick || mine) this.scrollDown();
    return { mine: !!mine };
  }

  showing() {
    if (this.empty) this.empty.hidden = true;
  }

  /** Places a stored message by id: history merged after live messages lands where it belongs. */
  place(li, id) {
    let before = null;
    for (const other of this.list.children) {
      const otherId = Number(other.dataset.messageId);
      if ((otherId && otherId > id) || other.dataset.pending !== undefined) {
        before = other;
        break;
      }
    }
    // A message of an earlier day than the separator it landed after belongs before that separator.
    while (before && before.previousElementSibling && before.previousElementSibling.classList.contains('day') && before.previousElementSibling.dataset.day !== li.dataset.day) {
      before = before.previousElementSibling;
    }
    this.list.insertBefore(li, before);
    this.separate(li);
  }

  /**
   * Keeps one date separator before the first message of each day (messages are in id order, so days are too):
   * a long thread says where yesterday ends. The separator is a list item of its own, not part of a message.
   */
  separate(li) {
    const day = li.dataset.day;
    if (!day) return;
    let prev = li.previousElementSibling;
    while (prev && !prev.dataset.messageId && !prev.classList.contains('day')) prev = prev.previousElementSibling;
    if (prev && prev.classList.contains('day') && prev.dataset.day === day) return;
    if (prev && prev.dataset.day === day) return; // a message of the same day is before it: its separator is further up
    // li is the first of its day: its separator moves here, or is made.
    let sep = this.list.querySelector(`li.day[data-day="${day}"]`);
    if (!sep) {
      sep = document.createElement('li');
      sep.className = 'day';
      sep.dataset.day = day;
      const label = document.createElement('span');
      label.textContent = dayText(li.querySelector('time').dateTime);
      sep.append(label);
    }
    this.list.insertBefore(sep, li);
  }
}
