// SPDX-License-Identifier: MIT
// Types of crier.js (hand-written; the module has no build step).

/** Connection states, in the order a healthy connection meets them. */
export type Status = "connecting" | "open" | "reconnecting" | "polling" | "closed";
export declare const STATUSES: readonly Status[];
/** Event types the server reserves: `connected`, `resync`, `batch`. */
export declare const RESERVED_TYPES: readonly string[];

/** One event as on the wire: data is the text the server sent (usually JSON). */
export interface RawEvent {
  id: string | null;
  type: string;
  data: string;
}

/** Why a status changed: `reason` (`hidden`, `stopped`, `unauthorized`, `forbidden`,
 * `closed_by_server`), `httpStatus` for the server's refusals, `attempt`/`delay` while
 * reconnecting. */
export interface StatusDetail {
  reason?: string;
  httpStatus?: number;
  attempt?: number;
  delay?: number;
}

export interface BackoffOptions {
  base?: number;
  cap?: number;
  random?: () => number;
}

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)) milliseconds. */
export declare function backoffDelay(attempt: number, options?: BackoffOptions): number;

export interface Parser {
  feed(text: string): void;
  reset(): void;
  readonly lastEventId: string | null;
}
/** Incremental `text/event-stream` parser (WHATWG); any chunking gives the same events. */
export declare function createParser(
  onEvent: (event: RawEvent) => void,
  onRetry?: (ms: number) => void,
): Parser;

/** Event ids in bounded memory (oldest forgotten first). */
export declare class EventIdSet {
  constructor(capacity?: number);
  readonly capacity: number;
  readonly size: number;
  has(id: string): boolean;
  /** false when `id` was already there. */
  add(id: string): boolean;
}

/** A `batch` event's items, or the event itself. Throws SyntaxError on a malformed batch. */
export declare function unpackBatch(event: RawEvent): RawEvent[];
/** Parsed JSON, or the text when it is not JSON. */
export declare function parseData(data: string): unknown;

export type Handler<T = any> = (data: T, event: RawEvent) => void;
export type ModuleHandler<T = any> = (action: string, data: T, event: RawEvent) => void;
export type Unsubscribe = () => void;

/** Handlers by exact type, `module:*`, module (told the action) and `*`, each isolated. */
export declare class Dispatcher {
  constructor(onError?: (error: unknown, event: RawEvent) => void);
  on(pattern: string, handler: Handler): Unsubscribe;
  onModule(module: string, handler: ModuleHandler): Unsubscribe;
  exactTypes(): Set<string>;
  modules(): Set<string>;
  dispatch(event: RawEvent): number;
}

/** A row with an id; optimistic rows carry `pending: true` and a temporary id. */
export type Row = { [key: string]: any };

export interface PendingOp {
  confirm(serverItem?: Row): void;
  rollback(): void;
}

/** Optimistic add/update/remove with rollback, reconciled with module events. */
export declare class OptimisticStore<T extends Row = Row> {
  constructor(items?: T[], options?: { key?: string; clientKey?: string; tempPrefix?: string });
  readonly items: T[];
  subscribe(listener: (items: T[]) => void): Unsubscribe;
  isTemporary(id: unknown): boolean;
  optimisticAdd(item: Partial<T>): PendingOp & { id: string; item: T };
  optimisticUpdate(id: unknown, patch: Partial<T>): PendingOp;
  optimisticRemove(id: unknown): PendingOp;
  /** A server event: `created` (confirms the row named by `clientId`), `updated`, `deleted`. */
  apply(action: string, data: Row): void;
  /** Replaces the rows with the server's list, keeping rows still in flight. */
  set(items: T[]): void;
  /** Loads the list without losing events that arrive meanwhile. */
  refetch(load: () => Promise<T[]>): Promise<void>;
  create(item: Partial<T>, request: (row: T) => Promise<T>): Promise<T>;
  update<R>(id: unknown, patch: Partial<T>, request: () => Promise<R>): Promise<R>;
  remove<R>(id: unknown, request: () => Promise<R>): Promise<R>;
}

export declare function buildUrl(
  base: string,
  params: Record<string, string | number | Array<string | number> | null | undefined>,
): string;
/** The localStorage lease of the Web Locks fallback. */
export declare function mayLead(
  lease: { tab: string; expires: number } | null,
  me: string,
  now: number,
): boolean;

export interface RealtimeOptions {
  /** Route prefix. Default `/api/realtime`. */
  url?: string;
  /** `?channel=`s besides `global` and `user:{id}`. */
  channels?: string[];
  /** More query parameters on every request (e.g. `{user: "ann"}`). */
  params?: Record<string, string>;
  /** Request headers (e.g. Authorization): the stream is then read with fetch, not EventSource. */
  headers?: Record<string, string> | null;
  /** fetch credentials; `include` also sets EventSource's withCredentials. Default `same-origin`. */
  credentials?: RequestCredentials;
  /** Default `auto`: fetch when headers are set, else EventSource, else polling. */
  transport?: "auto" | "eventsource" | "fetch" | "polling";
  /** One connection for all tabs of the origin (Web Locks + BroadcastChannel). Default true. */
  share?: boolean;
  /** Tabs with the same name share; default: derived from the stream URL. */
  shareName?: string | null;
  /** Disconnect while the page is hidden; resume from the last id. Default false. */
  pauseWhenHidden?: boolean;
  /** Milliseconds between history polls. Default 1000. */
  pollInterval?: number;
  /** `limit` of each history poll. Default 500. */
  pollLimit?: number;
  /** Reconnect backoff (full jitter, capped; the server's `retry:` is the floor). */
  backoff?: { base: number; cap: number };
  /** Stream failures in a row before polling takes over. Default 3. */
  maxStreamFailures?: number;
  /** While polling because the stream failed, try the stream again this often. Default 15000. */
  streamRetryInterval?: number;
  /** Event ids remembered for dedup. Default 2000. */
  dedupCapacity?: number;
  /** Actions listened for on each channel's module under EventSource. */
  actions?: string[];
  /** More event types to listen for under EventSource (it only delivers named types). */
  types?: string[];
  /** Called on `resync` (history could not be replayed): refetch your state. */
  onResync?: ((reason: string, id: string | null) => void) | null;
  EventSource?: typeof EventSource;
  fetch?: typeof fetch;
  BroadcastChannel?: typeof BroadcastChannel;
  locks?: LockManager;
  storage?: Storage | null;
  document?: Document;
}

export interface RealtimeEvents {
  status: (status: Status, detail: StatusDetail) => void;
  resync: (reason: string, id: string | null) => void;
  leader: (isLeader: boolean) => void;
  stopped: (detail: StatusDetail) => void;
  error: (error: unknown, event?: RawEvent) => void;
}

/** A connection to crier's stream, shared by the tabs of an origin. */
export declare class RealtimeClient {
  constructor(options?: RealtimeOptions);
  readonly options: Required<RealtimeOptions>;
  readonly status: Status;
  readonly statusDetail: StatusDetail;
  readonly lastEventId: string | null;
  /** True in the tab that holds the connection. */
  readonly isLeader: boolean;
  readonly transport: "eventsource" | "fetch" | "polling" | null;
  subscribe<T = any>(pattern: string, handler: Handler<T>): Unsubscribe;
  subscribeModule<T = any>(module: string, handler: ModuleHandler<T>): Unsubscribe;
  on<K extends keyof RealtimeEvents>(name: K, listener: RealtimeEvents[K]): Unsubscribe;
  start(): this;
  stop(): void;
}

/** Creates and starts a client. */
export declare function createRealtime(options?: RealtimeOptions): RealtimeClient;
