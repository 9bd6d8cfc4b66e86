// The standard EventSource for Node (npm "eventsource", written by others) against Herald: it receives
// events, loses its connection when the server goes away, reconnects by itself, and gets what it missed
// through Last-Event-ID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { HeraldServer, waitFor } from './support/herald-server.mjs';

test('eventsource reconnects by itself and gets missed events via Last-Event-ID', async () => {
  // retry 4 s without jitter: the server restarts (≈1-2 s) and takes new messages before the client is back. The
  // drain on SIGTERM sends its own retry: (1-3 s by default, so restarted nodes' clients come back spread out); it
  // is pinned to 4 s too, or a client told 1 s could be back before the messages are posted.
  const server = await HeraldServer.start({
    'Herald:Streams:RetryMilliseconds': 4000,
    'Herald:Streams:RetryJitterMilliseconds': 0,
    'Herald:Shutdown:ReconnectMinMilliseconds': 4000,
    'Herald:Shutdown:ReconnectMaxMilliseconds': 4000,
  });
  let es;
  try {
    const g = await server.guestDialog();
    es = new EventSource(`${server.baseUrl}/api/dialogs/${g.dialogId}/events?${g.query}`);
    const received = [];
    let opens = 0;
    let errors = 0;
    const listeners = new Set();
    const notify = () => listeners.forEach((l) => l());
    const onChange = (fn) => listeners.add(fn);
    es.addEventListener('message', (e) => { received.push({ id: e.lastEventId, data: JSON.parse(e.data) }); notify(); });
    es.addEventListener('open', () => { opens++; notify(); });
    es.addEventListener('error', () => { errors++; notify(); });

    await waitFor(onChange, () => opens === 1, 10_000, 'first open');
    await server.postGuest(g, 'one');
    await waitFor(onChange, () => received.length === 1, 10_000, 'message one');

    await server.restart();
    await waitFor(onChange, () => errors >= 1, 10_000, 'the client noticing the drop');
    // Posted while the client is waiting out its retry delay: only Last-Event-ID replay can deliver these.
    await server.postGuest(g, 'two');
    await server.postGuest(g, 'three');
    assert.equal(opens, 1, 'the client reconnected before the messages were posted; the test proves nothing');

    await waitFor(onChange, () => received.length >= 3, 15_000, 'replayed messages');
    assert.ok(opens >= 2, 'the client did not reconnect');
    await server.postGuest(g, 'four');
    await waitFor(onChange, () => received.length >= 4, 10_000, 'live message after resume');

    assert.deepEqual(received.map((r) => r.data.message.text), ['one', 'two', 'three', 'four']);
    const ids = received.map((r) => Number(r.id));
    assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'ids are not increasing');
    assert.equal(new Set(ids).size, ids.length, 'an event arrived twice');
    for (const r of received) assert.equal(r.data.type, 'message:new');

    const stats = await server.json('GET', '/api/sse/stats');
    assert.ok(stats.body.counters.resumes >= 1, 'the server saw no Last-Event-ID resume');
    assert.ok(stats.body.counters.replayed_events >= 2, 'the server replayed nothing');
  } finally {
    es?.close();
    await server.dispose();
  }
});
