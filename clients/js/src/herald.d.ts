// Type declarations for herald.js (the module `herald-js`, i.e. herald.mjs). Written by hand next to the code they
// describe: herald.js has no build step. test/package.test.mjs type-checks a sample against them with tsc (and checks
// that tsc rejects a misuse), so they cannot silently drift into `any`. docs/clients.md is the guide.

/** The version of herald.js, e.g. "0.1.0". */
export declare const VERSION: string;

/** How the client reaches Herald: 'auto' is SSE, falling back to long polling (and back). */
export type Transport = 'auto' | 'sse' | 'websocket' | 'poll';

/** Which transport is carrying events at the moment (null before the first opens). */
export type ActiveTransport = 'sse' | 'websocket' | 'poll';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';

/** A guest of an assistant's widget (seed 000's guest mode). */
export interface GuestAuth {
  assistantId: number;
  guestId: string;
}

/** A site widget with a widget token bound to its domains. */
export interface SiteAuth {
  siteToken: string;
}

/** An operator: a JWT from POST /api/auth/login, and optionally how to get a fresh one before it expires. */
export interface OperatorAuth {
  token: string;
  refreshToken?: () => Promise<string>;
}

export type Auth = GuestAuth | SiteAuth | OperatorAuth;

/** The tunables, with their defaults in {@link DEFAULTS}. Times are milliseconds except `pollTimeout` (seconds). */
export interface Tunables {
  transport: Transport;
  retryDelay: number;
  maxRetryDelay: number;
  fallbackAfter: number;
  probeInterval: number;
  bufferingTimeout: number;
  pollTimeout: number;
  pingInterval: number;
  pingTimeout: number;
  share: boolean;
  handoverWait: number;
}

interface ClientOptionsBase extends Partial<Tunables> {
  /** Herald's origin, e.g. "https://chat.example.com"; default: the page's origin (required outside a page). */
  baseUrl?: string;
  auth: Auth;
  /** Resume after this event id (a position stored from `client.lastEventId`). */
  lastEventId?: number | null;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** A WebSocket constructor for transport 'websocket' outside a browser, e.g. the `ws` package. */
  WebSocket?: unknown;
}

/** Subscribe to exactly one of: a dialog, generic topics, or the operators' feed. */
export type ClientOptions =
  | (ClientOptionsBase & { dialogId: number; topics?: never; admin?: never })
  | (ClientOptionsBase & { topics: string | string[]; dialogId?: never; admin?: never })
  | (ClientOptionsBase & { admin: true; dialogId?: never; topics?: never });

/** One event, whatever transport brought it. */
export interface HeraldEvent<TData = unknown> {
  /** The global event id; null for ephemeral events (typing), which are never replayed. */
  id: number | null;
  /** The SSE event name: 'message', 'typing', 'reset', 'new_message', 'dialog_update', or a publisher's. */
  event: string;
  /** The payload's `type` when it has one (e.g. 'message:new'), else the event name. */
  type: string;
  topic: string | null;
  data: TData;
  transport?: ActiveTransport;
  /** True when another tab's connection delivered it (tab sharing). */
  relayed?: boolean;
}

/** A chat message as Herald sends it (`message:new`). */
export interface ChatMessage {
  id: number;
  dialog_id: number;
  sender: string;
  text: string;
  created_at: string;
  /** Present when the sender gave one (a retry of the same message is stored once). */
  client_message_id?: string;
}

export interface MessageNewData {
  type: 'message:new';
  message: ChatMessage;
}

/** The server could not replay from the client's position: reload history; the stream goes on. */
export interface ResetEvent extends HeraldEvent {
  reason: string | undefined;
  lastEventId: number | null;
}

export interface StateChange {
  state: ConnectionState;
  transport: ActiveTransport | null;
  leader: boolean;
}

/** One failed attempt. `fatal` means the client stopped (a 4xx, a 4000-4499 close code): change something, then reconnect. */
export interface ClientError {
  error: string;
  detail?: string | null;
  status?: number;
  fatal?: boolean;
  retryAfter?: number | null;
  transport?: ActiveTransport;
  code?: number;
  reason?: string;
  buffered?: boolean;
  auth?: boolean;
}

/** The events a client emits, by name; any other name is an event name or payload type of the server's. */
export interface ClientEventMap {
  'message:new': HeraldEvent<MessageNewData>;
  reset: ResetEvent;
  state: StateChange;
  error: ClientError;
  event: HeraldEvent;
}

declare class Emitter<TMap> {
  /** Adds a handler; returns a function that removes it. */
  on<K extends keyof TMap & string>(name: K, handler: (event: TMap[K]) => void): () => void;
  on(name: string, handler: (event: HeraldEvent) => void): () => void;
  off<K extends keyof TMap & string>(name: K, handler: (event: TMap[K]) => void): void;
  off(name: string, handler: (event: HeraldEvent) => void): void;
  once<K extends keyof TMap & string>(name: K, handler: (event: TMap[K]) => void): () => void;
  once(name: string, handler: (event: HeraldEvent) => void): () => void;
}

/** A subscription that reconnects, resumes by event id and falls back between transports on its own. */
export declare class Client extends Emitter<ClientEventMap> {
  constructor(options: ClientOptions);
  /** The highest event id delivered so far (null before the first): the position to store. */
  readonly lastEventId: number | null;
  readonly state: ConnectionState;
  readonly transport: ActiveTransport | null;
  /** True in the tab that holds the shared connection. */
  readonly isLeader: boolean;
  readonly closed: boolean;
  /** Stops everything; nothing is emitted afterwards except the final state 'closed'. */
  close(): void;
}

export interface SseFrame {
  id: string | null;
  event: string;
  data: string;
}

export interface SseHandlers {
  onEvent?: (frame: SseFrame) => void;
  onRetry?: (ms: number) => void;
  onComment?: (text: string) => void;
}

/** The WHATWG event-stream parser the client uses, fed decoded text in chunks of any size. */
export declare class SseParser {
  constructor(handlers?: SseHandlers);
  /** The spec's last event ID buffer. */
  lastEventId: string;
  feed(text: string): void;
}

/** The position (highest id delivered) and the rule that drops repeats. */
export declare class EventTracker {
  constructor(lastEventId?: number | string | null);
  lastEventId: number | null;
  duplicates: number;
  advance(id: number | string | null | undefined): void;
  /** True when the event is new and must be delivered; moves the position. */
  accept(event: HeraldEvent): boolean;
}

/** The URLs of each transport for a subscription. */
export declare class Endpoints {
  constructor(options: ClientOptions);
  readonly base: string;
  headers(): Record<string, string>;
  sse(lastEventId?: number | null): string;
  poll(afterId?: number | null, timeout?: number): string;
  webSocket(lastEventId?: number | null): string | null;
}

/** The delay before reconnect attempt `attempt` (0 = the first: exactly `base`), with jitter, capped at `max`. */
export declare function backoffDelay(attempt: number, base: number, max: number, random?: () => number): number;

/** Whether a WebSocket close code means "reconnect" (everything but 4000-4499). */
export declare function closeReconnects(code: number): boolean;

export declare function fromSse(frame: SseFrame): HeraldEvent;
export declare function fromPoll(item: { id: number | string | null; event?: string; topic?: string | null; data: unknown }): HeraldEvent;
export declare function fromWebSocket(frame: unknown): HeraldEvent;

/** Whether tabs can share one connection here (Web Locks and BroadcastChannel). */
export declare function sharingAvailable(): boolean;

export declare const DEFAULTS: Readonly<Tunables>;

declare const Herald: {
  VERSION: typeof VERSION;
  Client: typeof Client;
  SseParser: typeof SseParser;
  EventTracker: typeof EventTracker;
  Endpoints: typeof Endpoints;
  backoffDelay: typeof backoffDelay;
  closeReconnects: typeof closeReconnects;
  fromSse: typeof fromSse;
  fromPoll: typeof fromPoll;
  fromWebSocket: typeof fromWebSocket;
  sharingAvailable: typeof sharingAvailable;
  DEFAULTS: typeof DEFAULTS;
};
export default Herald;
