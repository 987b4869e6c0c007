// SPDX-License-Identifier: MIT
// The seed's three React hooks over crier.js: useRealtime, useRealtimeModule and
// useOptimisticUpdate. React is a peer dependency; this file only wraps crier.js.
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import { OptimisticStore, RealtimeClient } from "./crier.js";

const RealtimeContext = createContext(null);

/**
 * Gives its children one client. Without a provider, the hooks share one client per set of
 * options (crier.js shares its stream between tabs too).
 * @param {{client?: RealtimeClient, options?: object, children?: any}} props
 */
export function RealtimeProvider({ client, options, children }) {
  const value = useMemo(() => client ?? new RealtimeClient(options), [client]);
  useEffect(() => acquire(value), [value]);
  return createElement(RealtimeContext.Provider, { value }, children);
}

// Clients made by the hooks themselves, one per set of options. Every user (hook or provider)
// holds a reference; the client runs while any does.
const shared = new Map();
const users = new WeakMap();

function acquire(client) {
  users.set(client, (users.get(client) ?? 0) + 1);
  client.start();
  return () => {
    const n = users.get(client) - 1;
    users.set(client, n);
    if (n === 0) client.stop();
  };
}

function sharedClient(options = {}) {
  const { enabled, reconnectDelay, maxReconnectAttempts, ...rest } = options;
  if (reconnectDelay !== undefined) rest.backoff = { base: reconnectDelay, cap: 30000 };
  if (maxReconnectAttempts !== undefined) rest.maxStreamFailures = maxReconnectAttempts;
  const key = JSON.stringify(rest, Object.keys(rest).sort());
  if (!shared.has(key)) shared.set(key, new RealtimeClient(rest));
  return shared.get(key);
}

/**
 * The client the hooks use: the provider's, or the one shared for these options.
 * @param {object} [options] crier.js options, plus the seed's `enabled`, `reconnectDelay` and
 * `maxReconnectAttempts`
 * @returns {RealtimeClient}
 */
export function useRealtimeClient(options) {
  const provided = useContext(RealtimeContext);
  const key = JSON.stringify(options ?? {});
  // Options compared by value: an inline object literal must not make a new client each render.
  return useMemo(() => provided ?? sharedClient(options), [provided, key]);
}

/**
 * The connection: `{status, isConnected, lastEvent, subscribe, client}`. `subscribe(pattern,
 * handler)` returns its unsubscribe function (call it from an effect's cleanup).
 */
export function useRealtime(options = {}) {
  const client = useRealtimeClient(options);
  const enabled = options.enabled !== false;
  const [status, setStatus] = useState(client.status);
  const [lastEvent, setLastEvent] = useState(null);
  useEffect(() => {
    if (!enabled) return undefined;
    const offStatus = client.on("status", (s) => setStatus(s));
    const offEvents = client.subscribe("*", (data, event) => setLastEvent({ ...event, data }));
    const release = acquire(client);
    setStatus(client.status);
    return () => {
      offStatus();
      offEvents();
      release();
    };
  }, [client, enabled]);
  const subscribe = useCallback((pattern, handler) => client.subscribe(pattern, handler), [client]);
  return {
    status,
    isConnected: status === "open" || status === "polling",
    lastEvent,
    subscribe,
    client,
  };
}

/**
 * Calls `handler(action, data, event)` for every `module:action` event (`horses:created` →
 * "created"). The latest handler is used without resubscribing.
 */
export function useRealtimeModule(module, handler, options) {
  const client = useRealtimeClient(options);
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    const release = acquire(client);
    const off = client.subscribeModule(module, (action, data, event) =>
      latest.current(action, data, event),
    );
    return () => {
      off();
      release();
    };
  }, [client, module]);
}

/**
 * A list kept by crier.js's OptimisticStore and synced by the module's events:
 * `{data, optimisticAdd, optimisticUpdate, optimisticRemove, syncData, create, update, remove,
 * refetch, store}`. `create(item, request)` shows the row at once and rolls it back when
 * `request(row)` fails (send `row.id` as `clientId`).
 */
export function useOptimisticUpdate(initial, module, options) {
  const store = useMemo(() => new OptimisticStore(initial ?? []), []);
  useRealtimeModule(module, (action, data) => store.apply(action, data), options);
  const data = useSyncExternalStore(
    useCallback((listener) => store.subscribe(listener), [store]),
    () => store.items,
    () => store.items,
  );
  return useMemo(
    () => ({
      data,
      store,
      optimisticAdd: (item) => store.optimisticAdd(item),
      optimisticUpdate: (id, patch) => store.optimisticUpdate(id, patch),
      optimisticRemove: (id) => store.optimisticRemove(id),
      syncData: (items) => store.set(items),
      create: (item, request) => store.create(item, request),
      update: (id, patch, request) => store.update(id, patch, request),
      remove: (id, request) => store.remove(id, request),
      refetch: (load) => store.refetch(load),
    }),
    [data, store],
  );
}
