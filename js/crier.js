// SPDX-License-Identifier: MIT
// crier.js: the browser side of crier, one dependency-free ES module with no build step.
//
// The pure parts come first (SSE parsing, backoff, dedup, batch unpacking, handler dispatch,
// the optimistic store, the leader lease); Node's test runner covers them. The client after
// them wires those parts to EventSource, fetch, BroadcastChannel and Web Locks.

// ---------------------------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------------------------

/** Connection states, in the order a healthy connection meets them. */
export const STATUSES = Object.freeze(["connecting", "open", "reconnecting", "polling", "closed"]);

/** Event types the server reserves; applications never publish them. */
export const RESERVED_TYPES = Object.freeze(["connected", "resync", "batch"]);

/**
 * Reconnect delay with "full jitter": uniform in [0, min(cap, base * 2^attempt)), so a fleet of
 * clients that lost the same server does not come back at the same instant.
 * @param {number} attempt failures so far, from 0
 * @param {{base?: number, cap?: number, random?: () => number}} [options]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { base = 1000, cap = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * Incremental `text/event-stream` parser (the WHATWG "interpret an event stream" algorithm):
 * any chunking of the same text gives the same events. Feed it decoded text.
 * @param {(event: {id: string|null, type: string, data: string}) => void} onEvent
 * @param {(ms: number) => void} [onRetry] called for each valid `retry:` field
 * @returns {{feed(text: string): void, reset(): void, readonly lastEventId: string|null}}
 */
export function createParser(onEvent, onRetry = () => {}) {
  let buffer = "";
  let data = [];
  let type = "";
  let lastId = null;
  let first = true;
  let sawCR = false; // the previous chunk ended in CR: a following LF belongs to it

  function dispatch() {
    if (data.length === 0) {
      type = "";
      return;
    }
    const event = { id: lastId, type: type || "message", data: data.join("\n") };
    data = [];
    type = "";
    onEvent(event);
  }

  function line(text) {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return; // comment (heartbeat)
    const colon = text.indexOf(":");
    let field = text;
    let value = "";
    if (colon >= 0) {
      field = text.slice(0, colon);
      value = text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    if (field === "data") data.push(value);
    else if (field === "event") type = value;
    else if (field === "id") {
      if (!value.includes("\0")) lastId = value;
    } else if (field === "retry") {
      if (/^[0-9]+$/.test(value)) onRetry(Number(value));
    }
  }

  return {
    feed(text) {
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      if (sawCR && text.startsWith("\n")) text = text.slice(1);
      sawCR = false;
      buffer += text;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== "\n" && c !== "\r") continue;
        line(buffer.slice(start, i));
        if (c === "\r") {
          if (i + 1 === buffer.length) sawCR = true;
          else if (buffer[i + 1] === "\n") i++;
        }
        start = i + 1;
      }
      buffer = buffer.slice(start);
    },
    reset() {
      buffer = "";
      data = [];
      type = "";
      first = true;
      sawCR = false;
    },
    get lastEventId() {
      return lastId;
    },
  };
}

/**
 * A set of event ids with bounded memory: past `capacity`, the oldest id is forgotten. Ids are
 * opaque strings compared for equality only.
 */
export class EventIdSet {
  /** @param {number} [capacity] */
  constructor(capacity = 1000) {
    this.capacity = Math.max(1, capacity);
    this._ids = new Set();
  }

  /** @param {string} id @returns {boolean} */
  has(id) {
    return this._ids.has(id);
  }

  /**
   * Remembers `id`.
   * @param {string} id
   * @returns {boolean} false when it was already there (a duplicate)
   */
  add(id) {
    if (this._ids.has(id)) return false;
    this._ids.add(id);
    // A Set iterates in insertion order, so its first id is the oldest.
    if (this._ids.size > this.capacity) this._ids.delete(this._ids.values().next().value);
    return true;
  }

  /** @returns {number} */
  get size() {
    return this._ids.size;
  }
}

/**
 * The events one raw event stands for: a `batch` event's items (each `{id, type, data}`, data a
 * string as on the wire), or the event itself.
 * @param {{id?: string|null, type: string, data: string}} event
 * @returns {Array<{id: string|null, type: string, data: string}>}
 * @throws {SyntaxError} when a batch is not a JSON array of items
 */
export function unpackBatch(event) {
  if (event.type !== "batch") return [event];
  const items = JSON.parse(event.data);
  if (!Array.isArray(items)) throw new SyntaxError("batch data is not a JSON array");
  return items.map((item) => ({
    id: item.id == null ? null : String(item.id),
    type: String(item.type),
    data: typeof item.data === "string" ? item.data : JSON.stringify(item.data),
  }));
}

/**
 * An event's data as the application wants it: parsed JSON, or the text when it is not JSON.
 * @param {string} data
 */
export function parseData(data) {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/**
 * Handlers by exact type (`horses:created`), by `module:*`, by module (`horses`, told the
 * action) and `*`. One throwing handler does not stop the others: its error goes to `onError`.
 */
export class Dispatcher {
  /** @param {(error: unknown, event: object) => void} [onError] */
  constructor(onError = (error) => console.error("crier: a handler threw", error)) {
    this._onError = onError;
    /** @type {Set<{pattern: string, module: string|null, handler: Function}>} */
    this._entries = new Set();
  }

  /**
   * Calls `handler(data, event)` for events of `pattern`: an exact type, `module:*` or `*`.
   * @returns {() => void} unsubscribe
   */
  on(pattern, handler) {
    return this._add({ pattern, module: null, handler });
  }

  /**
   * Calls `handler(action, data, event)` for every `module:action` event (`horses:created` →
   * `"created"`; `finance:invoice:paid` → `"invoice:paid"`).
   * @returns {() => void} unsubscribe
   */
  onModule(module, handler) {
    return this._add({ pattern: `${module}:*`, module, handler });
  }

  _add(entry) {
    this._entries.add(entry);
    return () => this._entries.delete(entry);
  }

  /** Exact types named by subscriptions (not patterns): an EventSource must listen for each. */
  exactTypes() {
    const types = new Set();
    for (const e of this._entries) if (!e.pattern.endsWith("*")) types.add(e.pattern);
    return types;
  }

  /** Modules named by `module:*` and module subscriptions. */
  modules() {
    const modules = new Set();
    for (const e of this._entries) {
      if (e.pattern !== "*" && e.pattern.endsWith(":*")) modules.add(e.pattern.slice(0, -2));
    }
    return modules;
  }

  /**
   * Delivers one event to every matching handler.
   * @param {{id: string|null, type: string, data: string}} event
   * @returns {number} handlers called
   */
  dispatch(event) {
    const data = parseData(event.data);
    let called = 0;
    // A copy: a handler may unsubscribe itself or others.
    for (const e of [...this._entries]) {
      if (!this._entries.has(e)) continue;
      const matches =
        e.pattern === "*" ||
        e.pattern === event.type ||
        (e.pattern.endsWith(":*") && event.type.startsWith(e.pattern.slice(0, -1)));
      if (!matches) continue;
      called++;
      try {
        if (e.module !== null) e.handler(event.type.slice(e.module.length + 1), data, event);
        else e.handler(data, event);
      } catch (error) {
        try {
          this._onError(error, event);
        } catch {
          // An error reporter that throws must not stop delivery either.
        }
      }
    }
    return called;
  }
}

/**
 * A list of items (rows with an `id`) that the UI changes at once and the server confirms
 * later: optimistic add/update/remove with temporary ids and rollback, and reconciliation with
 * the module's `created/updated/deleted` events, so a confirmed row replaces its temporary row
 * in place (no flicker, no duplicate).
 *
 * The server tells which temporary row an event confirms through the item's `clientId` field
 * (the temporary id the create request sent).
 */
export class OptimisticStore {
  /**
   * @param {object[]} [items]
   * @param {{key?: string, clientKey?: string, tempPrefix?: string}} [options]
   */
  constructor(items = [], { key = "id", clientKey = "clientId", tempPrefix = "tmp-" } = {}) {
    this.key = key;
    this.clientKey = clientKey;
    this.tempPrefix = tempPrefix;
    this._items = items.slice();
    this._listeners = new Set();
    this._counter = 0;
    this._log = null; // events applied while a refetch is in flight
  }

  /** The current rows: a new array after every change, the same one otherwise. */
  get items() {
    return this._items;
  }

  /** @param {() => void} listener @returns {() => void} unsubscribe */
  subscribe(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  _commit(items) {
    this._items = items;
    for (const l of [...this._listeners]) {
      try {
        l(items);
      } catch (error) {
        console.error("crier: a store listener threw", error);
      }
    }
  }

  _index(id) {
    return this._items.findIndex((item) => item[this.key] === id);
  }

  /** True for an id made by optimisticAdd that the server has not confirmed yet. */
  isTemporary(id) {
    return typeof id === "string" && id.startsWith(this.tempPrefix);
  }

  /**
   * Adds `item` at once under a temporary id (also set as `clientId`; send it with the create
   * request).
   * @returns {{id: string, item: object, confirm(serverItem: object): void, rollback(): void}}
   */
  optimisticAdd(item) {
    const id = `${this.tempPrefix}${Date.now().toString(36)}-${++this._counter}`;
    const row = { ...item, [this.key]: id, [this.clientKey]: id, pending: true };
    this._commit([...this._items, row]);
    return {
      id,
      item: row,
      confirm: (serverItem) => this._confirmCreate(id, serverItem),
      rollback: () => {
        const i = this._index(id);
        if (i >= 0) this._commit(this._items.filter((_, j) => j !== i));
      },
    };
  }

  /**
   * Applies `patch` to the row `id` at once.
   * @returns {{confirm(serverItem?: object): void, rollback(): void}}
   */
  optimisticUpdate(id, patch) {
    const i = this._index(id);
    if (i < 0) return { confirm() {}, rollback() {} };
    const before = this._items[i];
    const after = { ...before, ...patch, pending: true };
    this._commit(this._items.map((row, j) => (j === i ? after : row)));
    return {
      confirm: (serverItem) => {
        const k = this._index(id);
        if (k < 0) return;
        const row = serverItem ? { ...serverItem } : { ...this._items[k] };
        delete row.pending;
        delete row[this.clientKey];
        this._commit(this._items.map((r, j) => (j === k ? row : r)));
      },
      rollback: () => {
        // Only our own optimistic row goes back; an event that replaced it meanwhile is newer.
        const k = this._index(id);
        if (k >= 0 && this._items[k] === after) {
          this._commit(this._items.map((r, j) => (j === k ? before : r)));
        }
      },
    };
  }

  /**
   * Removes the row `id` at once.
   * @returns {{confirm(): void, rollback(): void}}
   */
  optimisticRemove(id) {
    const i = this._index(id);
    if (i < 0) return { confirm() {}, rollback() {} };
    const before = this._items[i];
    this._commit(this._items.filter((_, j) => j !== i));
    return {
      confirm() {},
      rollback: () => {
        if (this._index(id) >= 0) return;
        const items = this._items.slice();
        items.splice(Math.min(i, items.length), 0, before);
        this._commit(items);
      },
    };
  }

  _confirmCreate(tempId, serverItem) {
    const row = { ...serverItem };
    delete row[this.clientKey];
    delete row.pending;
    const real = this._index(row[this.key]);
    const temp = this.isTemporary(tempId) ? this._index(tempId) : -1;
    let items = this._items;
    if (temp >= 0 && real >= 0) {
      // The event and the response both arrived: keep one row, where the temporary one was.
      items = items.filter((_, j) => j !== real);
      items = items.map((r) => (r[this.key] === tempId ? row : r));
    } else if (temp >= 0) {
      items = items.map((r, j) => (j === temp ? row : r));
    } else if (real >= 0) {
      items = items.map((r, j) => (j === real ? row : r));
    } else {
      items = [...items, row];
    }
    this._commit(items);
  }

  /**
   * A server event for this module: `created` replaces the temporary row it confirms (or adds
   * the row once), `updated` replaces the row, `deleted` removes it. Idempotent.
   * @param {string} action
   * @param {object} data the event's data (a row, or `{id}` for deleted)
   */
  apply(action, data) {
    if (this._log) this._log.push([action, data]);
    if (!data || typeof data !== "object") return;
    const id = data[this.key];
    if (action === "created") {
      this._confirmCreate(data[this.clientKey] ?? id, data);
    } else if (action === "deleted") {
      const i = this._index(id);
      if (i >= 0) this._commit(this._items.filter((_, j) => j !== i));
    } else {
      const i = this._index(id);
      if (i < 0) return;
      const row = { ...this._items[i], ...data };
      delete row.pending;
      delete row[this.clientKey];
      this._commit(this._items.map((r, j) => (j === i ? row : r)));
    }
  }

  /**
   * Replaces every row with the server's list (the seed's `syncData`), keeping optimistic rows
   * whose requests are still in flight.
   * @param {object[]} items
   */
  set(items) {
    const pending = this._items.filter((r) => this.isTemporary(r[this.key]));
    this._commit([...items, ...pending]);
  }

  /**
   * Refetches the whole list without losing a live event: events applied while `load` runs are
   * applied again on top of its answer (apply is idempotent).
   * @param {() => Promise<object[]>} load
   */
  async refetch(load) {
    const log = [];
    this._log = log;
    let items;
    try {
      items = await load();
    } finally {
      // A later refetch may have started meanwhile: its log is its own.
      if (this._log === log) this._log = null;
    }
    this.set(items);
    for (const [action, data] of log) this.apply(action, data);
  }

  /**
   * The seed's create flow: the row shows at once, `request(row)` runs, the answer confirms it;
   * a failure removes the row and rethrows.
   * @param {object} item
   * @param {(row: object) => Promise<object>} request resolves with the server's row
   */
  async create(item, request) {
    const op = this.optimisticAdd(item);
    try {
      const saved = await request(op.item);
      op.confirm(saved);
      return saved;
    } catch (error) {
      op.rollback();
      throw error;
    }
  }

  /** Like create: the patch shows at once, a failure puts the row back. */
  async update(id, patch, request) {
    const op = this.optimisticUpdate(id, patch);
    try {
      const saved = await request();
      op.confirm(saved && typeof saved === "object" ? saved : undefined);
      return saved;
    } catch (error) {
      op.rollback();
      throw error;
    }
  }

  /** Like create: the row goes at once, a failure puts it back where it was. */
  async remove(id, request) {
    const op = this.optimisticRemove(id);
    try {
      const result = await request();
      op.confirm();
      return result;
    } catch (error) {
      op.rollback();
      throw error;
    }
  }
}

/**
 * A URL under crier's route prefix with query parameters (arrays repeat the name).
 * @param {string} base e.g. `/api/realtime/events`
 * @param {Record<string, string|number|string[]|null|undefined>} params
 */
export function buildUrl(base, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value == null) continue;
    for (const v of Array.isArray(value) ? value : [value]) query.append(name, String(v));
  }
  const text = query.toString();
  if (!text) return base;
  return base + (base.includes("?") ? "&" : "?") + text;
}

/**
 * The localStorage lease of the Web Locks fallback: may tab `me` lead, given the lease stored
 * now (`{tab, expires}` or null)?
 * @returns {boolean}
 */
export function mayLead(lease, me, now) {
  return !lease || lease.tab === me || !(lease.expires > now);
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

/** Why a client stopped for good: the server's answer, as the app is told. */
const STOP_REASONS = { 204: "closed_by_server", 401: "unauthorized", 403: "forbidden" };
const STOPPED = new Set(Object.values(STOP_REASONS));

/** Actions listened for on each channel's module under EventSource (see `actions`). */
const DEFAULT_ACTIONS = ["created", "updated", "deleted", "completed"];

/**
 * A connection to crier's stream, shared by the tabs of an origin.
 *
 * Events: `status` (status, detail), `resync` (reason, id), `leader` (isLeader), `stopped`
 * (detail: reason, httpStatus), `error` (error). Subscribe with `on(name, listener)`.
 */
export class RealtimeClient {
  /** @param {import("./crier").RealtimeOptions} [options] */
  constructor(options = {}) {
    const g = globalThis;
    this.options = {
      url: "/api/realtime",
      channels: [],
      params: {},
      headers: null,
      credentials: "same-origin",
      transport: "auto",
      share: true,
      shareName: null,
      pauseWhenHidden: false,
      pollInterval: 1000,
      pollLimit: 500,
      backoff: { base: 1000, cap: 30000 },
      maxStreamFailures: 3,
      streamRetryInterval: 15000,
      dedupCapacity: 2000,
      actions: DEFAULT_ACTIONS,
      types: [],
      onResync: null,
      EventSource: g.EventSource,
      fetch: g.fetch?.bind(g),
      BroadcastChannel: g.BroadcastChannel,
      locks: g.navigator?.locks,
      storage: safeLocalStorage(),
      document: g.document,
      ...options,
    };
    this.status = "closed";
    this.statusDetail = {};
    this.lastEventId = null;
    this.isLeader = false;
    this.transport = null; // "eventsource" | "fetch" | "polling" once connected
    this._dispatcher = new Dispatcher((error, event) => this._emit("error", error, event));
    this._seen = new EventIdSet(this.options.dedupCapacity);
    this._listeners = new Map();
    this._running = false;
    this._stopped = false; // stopped for good by the server (204/401/403)
    this._failures = 0;
    this._pollFailed = false; // a poll failed since the last one that worked
    this._retry = null; // the server's `retry:` in ms
    this._timers = new Set();
    this._conn = null; // close function of the current transport
    this._tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
    this._esTypes = new Set();
    this._es = null;
    this._bc = null;
    if (typeof this.options.onResync === "function") this.on("resync", this.options.onResync);
  }

  // -- Public API ---------------------------------------------------------------------------

  /** @returns {() => void} unsubscribe */
  subscribe(pattern, handler) {
    const off = this._dispatcher.on(pattern, handler);
    this._typesChanged();
    return off;
  }

  /** @returns {() => void} unsubscribe */
  subscribeModule(module, handler) {
    const off = this._dispatcher.onModule(module, handler);
    this._typesChanged();
    return off;
  }

  /** @returns {() => void} remove the listener */
  on(name, listener) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(listener);
    return () => this._listeners.get(name)?.delete(listener);
  }

  /** Connects (or joins the tab that holds the connection). */
  start() {
    if (this._running) return this;
    this._running = true;
    this._stopped = false;
    const doc = this.options.document;
    if (this.options.pauseWhenHidden && doc && !this._onVisibility) {
      this._onVisibility = () => {
        if (!this._running) return;
        if (doc.visibilityState === "hidden") this._standDown();
        else this._resume();
      };
      doc.addEventListener("visibilitychange", this._onVisibility);
    }
    if (this.options.pauseWhenHidden && doc?.visibilityState === "hidden") {
      this._join();
      this._setStatus("closed", { reason: "hidden" });
    } else {
      this._resume();
    }
    return this;
  }

  /** Disconnects; another tab takes the shared connection over. */
  stop() {
    this._running = false;
    if (this._onVisibility) {
      this.options.document.removeEventListener("visibilitychange", this._onVisibility);
      this._onVisibility = null;
    }
    this._clearTimers();
    this._abdicate();
    this._closeTransport();
    if (this._bc) {
      this._bc.close();
      this._bc = null;
    }
    this._setStatus("closed", { reason: "stopped" });
  }

  // -- Events in ----------------------------------------------------------------------------

  /** One raw event from the stream, a poll or the leader tab. */
  _receive(raw) {
    if (this.isLeader) this._post({ kind: "event", event: raw });
    if (raw.type === "connected") {
      // Its id is the stream's position (the resumed id, or the newest one on a fresh
      // stream): every tab learns where a new leader must resume.
      if (raw.id) this.lastEventId = raw.id;
      return;
    }
    if (raw.type === "resync") {
      const info = parseData(raw.data) || {};
      if (info.id) this.lastEventId = info.id;
      if (raw.id) this.lastEventId = raw.id;
      this._emit("resync", info.reason ?? "unknown", info.id ?? null);
      return;
    }
    let events;
    try {
      events = unpackBatch(raw);
    } catch (error) {
      this._emit("error", error, raw);
      return;
    }
    for (const e of events) {
      if (e.id) {
        if (!this._seen.add(e.id)) continue;
        this.lastEventId = e.id;
      }
      this._dispatcher.dispatch(e);
    }
    if (raw.id) this.lastEventId = raw.id;
  }

  // -- Status -------------------------------------------------------------------------------

  _setStatus(status, detail = {}) {
    if (status === this.status && JSON.stringify(detail) === JSON.stringify(this.statusDetail)) {
      return;
    }
    if (this.isLeader)
      this._post({ kind: "status", status, detail, lastEventId: this.lastEventId });
    this.status = status;
    this.statusDetail = detail;
    this._emit("status", status, detail);
  }

  _emit(name, ...args) {
    for (const l of [...(this._listeners.get(name) ?? [])]) {
      try {
        l(...args);
      } catch (error) {
        if (name !== "error") this._emit("error", error);
      }
    }
  }

  _later(fn, ms) {
    const t = setTimeout(() => {
      this._timers.delete(t);
      fn();
    }, ms);
    this._timers.add(t);
    return t;
  }

  _clearTimers() {
    for (const t of this._timers) clearTimeout(t);
    this._timers.clear();
  }

  // -- Sharing between tabs -----------------------------------------------------------------

  _shareKey() {
    return (
      this.options.shareName ??
      `crier:${buildUrl(this.options.url + "/events", {
        ...this.options.params,
        channel: [...this.options.channels].sort(),
      })}`
    );
  }

  /** Listens to the tab that holds the connection (when sharing). */
  _join() {
    const { share, BroadcastChannel: BC } = this.options;
    if (!share || !BC || this._bc) return;
    this._bc = new BC(this._shareKey());
    this._bc.onmessage = (m) => this._onShared(m.data);
    this._post({ kind: "hello" });
    this._post({ kind: "types", types: [...this._dispatcher.exactTypes()] });
  }

  /** Connects, or campaigns to hold the connection for every tab. */
  _resume() {
    if (!this._running || this._stopped) return;
    this._join();
    if (!this._bc) return this._lead();
    if (this.status === "closed") this._setStatus("connecting");
    this._campaign();
  }

  /**
   * The page was hidden: give the connection up (another visible tab takes it over, or the
   * next to show resumes from the last id), but keep hearing the relayed events, so this tab
   * stays current while a leader exists.
   */
  _standDown() {
    this._clearTimers();
    if (this.isLeader || !this._bc) this._setStatus("closed", { reason: "hidden" });
    this._abdicate();
    this._closeTransport();
  }

  /** Waits for leadership: a Web Lock where there is one, else a localStorage lease. */
  _campaign() {
    const { locks, storage } = this.options;
    const key = this._shareKey();
    if (locks?.request) {
      if (this._lockAbort) return;
      const abort = new AbortController();
      this._lockAbort = abort;
      locks
        .request(key, { signal: abort.signal }, () => {
          if (abort.signal.aborted) return undefined;
          this._lead();
          // Held until this promise settles: until we abdicate or the tab goes away.
          return new Promise((release) => (this._releaseLock = release));
        })
        .catch(() => {});
      return;
    }
    if (!storage) return this._lead(); // nothing to share with
    const leaseKey = `${key}:lease`;
    const tick = () => {
      if (!this._running || !this._bc || this._stopped) return;
      const now = Date.now();
      let lease = null;
      try {
        lease = JSON.parse(storage.getItem(leaseKey));
      } catch {
        lease = null;
      }
      if (mayLead(lease, this._tab, now)) {
        storage.setItem(leaseKey, JSON.stringify({ tab: this._tab, expires: now + 3000 }));
        if (!this.isLeader) {
          // Two tabs may write at once; the one whose write stayed leads.
          this._later(() => {
            const kept = JSON.parse(storage.getItem(leaseKey) || "null");
            if (kept?.tab === this._tab && !this.isLeader && this._bc) this._lead();
          }, 50);
        }
      } else if (this.isLeader) {
        this._abdicate();
      }
      this._later(tick, 1000);
    };
    this._leaseKey = leaseKey;
    tick();
  }

  _abdicate() {
    if (this._lockAbort) {
      this._lockAbort.abort();
      this._lockAbort = null;
    }
    if (this._releaseLock) {
      this._releaseLock();
      this._releaseLock = null;
    }
    if (this._leaseKey && this.isLeader) {
      try {
        const lease = JSON.parse(this.options.storage.getItem(this._leaseKey) || "null");
        if (lease?.tab === this._tab) this.options.storage.removeItem(this._leaseKey);
      } catch {
        // A storage that fails only costs the next tab a lease period.
      }
    }
    if (this.isLeader) {
      this._closeTransport();
      this.isLeader = false;
      this._emit("leader", false);
    }
  }

  _lead() {
    if (!this._running || this.isLeader) return;
    this.isLeader = true;
    this._emit("leader", true);
    // The other tabs tell the new leader which event types they listen for.
    this._post({ kind: "leader" });
    this._failures = 0;
    this._connect();
  }

  _post(message) {
    if (!this._bc) return;
    try {
      this._bc.postMessage({ ...message, from: this._tab });
    } catch (error) {
      this._emit("error", error);
    }
  }

  _onShared(m) {
    if (!m || m.from === this._tab) return;
    if (m.kind === "hello" && this.isLeader) {
      this._post({
        kind: "status",
        status: this.status,
        detail: this.statusDetail,
        lastEventId: this.lastEventId,
      });
    } else if (m.kind === "types" && this.isLeader) {
      for (const t of m.types) this._listenFor(t);
    } else if (!this.isLeader) {
      if (m.kind === "leader") {
        this._post({ kind: "types", types: [...this._dispatcher.exactTypes()] });
      } else if (m.kind === "event") {
        this._receive(m.event);
      } else if (m.kind === "status") {
        // A tab that joins late resumes, should it lead, from the leader's position.
        if (m.lastEventId && !this.lastEventId) this.lastEventId = m.lastEventId;
        this._setStatus(m.status, m.detail);
        if (STOPPED.has(m.detail?.reason)) this._stopped = true;
      }
    }
  }

  // -- Transports ---------------------------------------------------------------------------

  _streamUrl(lastId) {
    return buildUrl(this.options.url + "/events", {
      ...this.options.params,
      channel: this.options.channels,
      last_event_id: lastId ?? undefined,
    });
  }

  _pickTransport() {
    const { transport, headers, EventSource: ES, fetch } = this.options;
    if (transport !== "auto") return transport;
    if (headers && fetch && globalThis.ReadableStream) return "fetch";
    if (ES) return "eventsource";
    return "polling";
  }

  _connect() {
    if (!this._running || !this.isLeader || this._stopped) return;
    this._closeTransport();
    const kind = this._fallback ? "polling" : this._pickTransport();
    this.transport = kind;
    if (this.status !== "reconnecting") this._setStatus("connecting");
    if (kind === "eventsource") this._connectEventSource();
    else if (kind === "fetch") this._connectFetch();
    else this._poll(true);
  }

  _closeTransport() {
    if (this._conn) {
      const close = this._conn;
      this._conn = null;
      close();
    }
    this._es = null;
  }

  /** Stops for good on the server's 204/401/403. */
  _stopFor(httpStatus) {
    this._stopped = true;
    this._closeTransport();
    this._clearTimers();
    const detail = { reason: STOP_REASONS[httpStatus], httpStatus };
    this._setStatus("closed", detail);
    this._emit("stopped", detail);
  }

  /** One more failure of the stream or a poll: back off, or poll once the stream keeps failing. */
  _failed(streaming) {
    this._failures++;
    if (streaming && this._failures >= this.options.maxStreamFailures) this._fallBackToPolling();
    else this._scheduleReconnect();
  }

  _scheduleReconnect() {
    const { base, cap } = this.options.backoff;
    // The server's `retry:` is the floor; repeated failures back off from it, capped.
    const delay = Math.max(this._retry ?? base, backoffDelay(this._failures - 1, { base, cap }));
    this._setStatus("reconnecting", { attempt: this._failures, delay });
    this._later(() => this._connect(), delay);
  }

  /** The stream keeps failing: poll history instead, and try the stream again now and then. */
  _fallBackToPolling() {
    this._fallback = true;
    this._closeTransport();
    this._later(() => {
      this._fallback = false;
      if (this.transport === "polling" && this.isLeader) this._connect();
    }, this.options.streamRetryInterval);
    this._connect();
  }

  _wantedTypes() {
    const types = new Set([...RESERVED_TYPES, ...this.options.types]);
    const modules = new Set([
      ...this.options.channels.filter((c) => !c.includes("*")),
      ...this._dispatcher.modules(),
    ]);
    for (const m of modules) for (const a of this.options.actions) types.add(`${m}:${a}`);
    for (const t of this._dispatcher.exactTypes()) types.add(t);
    return types;
  }

  _typesChanged() {
    if (this.isLeader) {
      for (const t of this._wantedTypes()) this._listenFor(t);
    } else {
      this._post({ kind: "types", types: [...this._dispatcher.exactTypes()] });
    }
  }

  _listenFor(type) {
    if (!this._es || this._esTypes.has(type)) return;
    this._esTypes.add(type);
    this._es.addEventListener(type, (m) => {
      this._receive({ id: m.lastEventId || null, type, data: m.data });
    });
  }

  _connectEventSource() {
    const ES = this.options.EventSource;
    const es = new ES(this._streamUrl(this.lastEventId), {
      withCredentials: this.options.credentials === "include",
    });
    this._es = es;
    this._esTypes = new Set();
    for (const t of this._wantedTypes()) this._listenFor(t);
    es.addEventListener("message", (m) =>
      this._receive({ id: m.lastEventId || null, type: "message", data: m.data }),
    );
    es.onopen = () => {
      this._failures = 0;
      this._setStatus("open");
    };
    es.onerror = () => {
      if (this._es !== es) return;
      if (es.readyState === 0) {
        // The browser reconnects by itself, honouring the server's `retry:` and sending
        // Last-Event-ID; past maxStreamFailures in a row, polling takes over.
        if (++this._failures >= this.options.maxStreamFailures) return this._fallBackToPolling();
        this._setStatus("reconnecting", { attempt: this._failures });
        return;
      }
      // Closed for good by the browser: an HTTP error or a wrong content type. Ask the same
      // URL once more to learn the status (EventSource does not tell).
      this._closeTransport();
      this._probe().then((status) => {
        if (!this._running || !this.isLeader || this.transport !== "eventsource" || this._es)
          return;
        if (status in STOP_REASONS) this._stopFor(status);
        else this._failed(true);
      });
    };
    this._conn = () => es.close();
  }

  async _probe() {
    const abort = new AbortController();
    try {
      const r = await this.options.fetch(this._streamUrl(this.lastEventId), {
        credentials: this.options.credentials,
        headers: this.options.headers ?? {},
        signal: abort.signal,
      });
      return r.status;
    } catch {
      return 0;
    } finally {
      abort.abort();
    }
  }

  _connectFetch() {
    const abort = new AbortController();
    this._conn = () => abort.abort();
    const headers = { Accept: "text/event-stream", ...(this.options.headers ?? {}) };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    const run = async () => {
      const r = await this.options.fetch(this._streamUrl(null), {
        headers,
        credentials: this.options.credentials,
        cache: "no-store",
        signal: abort.signal,
      });
      if (r.status in STOP_REASONS) return this._stopFor(r.status);
      const type = r.headers.get("content-type") || "";
      if (!r.ok || !type.startsWith("text/event-stream") || !r.body) {
        throw new Error(`stream answered ${r.status} ${type}`);
      }
      this._failures = 0;
      this._setStatus("open");
      const parser = createParser(
        (e) => this._receive(e),
        (ms) => (this._retry = ms),
      );
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
      throw new Error("stream ended");
    };
    run().catch((error) => {
      if (abort.signal.aborted || !this._running || !this.isLeader) return;
      this._conn = null;
      this._emit("error", error);
      this._failed(true);
    });
  }

  _poll(first) {
    const abort = new AbortController();
    let timer = null;
    this._conn = () => {
      abort.abort();
      if (timer !== null) clearTimeout(timer);
    };
    const once = async (initial) => {
      const since = this.lastEventId;
      const url = buildUrl(this.options.url + "/history", {
        ...this.options.params,
        channel: [...new Set(["global", ...this.options.channels])],
        since: since ?? undefined,
        limit: this.options.pollLimit,
      });
      const r = await this.options.fetch(url, {
        headers: this.options.headers ?? {},
        credentials: this.options.credentials,
        cache: "no-store",
        signal: abort.signal,
      });
      if (r.status in STOP_REASONS) return this._stopFor(r.status);
      if (!r.ok) throw new Error(`history answered ${r.status}`);
      const page = await r.json();
      if (abort.signal.aborted) return;
      this._failures = 0;
      if (this._fallback && this._pollFailed) {
        // The server itself was away, not only its stream: now that it answers, try the
        // stream at once (it resumes from the last id) instead of after streamRetryInterval.
        this._pollFailed = false;
        this._fallback = false;
        return this._connect();
      }
      this._pollFailed = false;
      this._setStatus("polling");
      let more = false;
      if (initial && since === null) {
        // A stream without Last-Event-ID starts at "now"; so does polling.
        this.lastEventId = page.id;
      } else if (!page.complete) {
        this._receive({
          id: null,
          type: "resync",
          data: JSON.stringify({ reason: "history_incomplete", id: page.id }),
        });
        this.lastEventId = page.id;
      } else {
        for (const e of page.events) this._receive({ id: e.id, type: e.type, data: e.data });
        more = page.more;
        this.lastEventId =
          more && page.events.length > 0 ? page.events[page.events.length - 1].id : page.id;
      }
      timer = setTimeout(
        () => {
          timer = null;
          step(false);
        },
        more ? 0 : this.options.pollInterval,
      );
    };
    const step = (initial) => {
      once(initial).catch((error) => {
        if (abort.signal.aborted || !this._running || !this.isLeader) return;
        this._conn = null;
        this._emit("error", error);
        this._pollFailed = true;
        this._failed(false);
      });
    };
    step(first);
  }
}

function safeLocalStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // a sandboxed frame may throw on access
  }
}

/**
 * Creates and starts a client.
 * @param {import("./crier").RealtimeOptions} [options]
 * @returns {RealtimeClient}
 */
export function createRealtime(options) {
  return new RealtimeClient(options).start();
}
