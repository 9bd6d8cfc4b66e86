// Named ES-module exports for bundlers and Node: herald.js itself has no `export` (so that it also runs as a
// classic <script>) and publishes itself on globalThis; this wrapper re-exports it.
import './herald.js';

const Herald = globalThis.Herald;
export const { Client, SseParser, EventTracker, Endpoints, backoffDelay, closeReconnects, fromSse, fromPoll, fromWebSocket, sharingAvailable, VERSION, DEFAULTS } = Herald;
export default Herald;
