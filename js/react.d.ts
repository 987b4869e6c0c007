// SPDX-License-Identifier: MIT
// Types of react.js (hand-written).
import type { ReactNode } from "react";
import type {
  Handler,
  ModuleHandler,
  OptimisticStore,
  PendingOp,
  RawEvent,
  RealtimeClient,
  RealtimeOptions,
  Row,
  Status,
  Unsubscribe,
} from "./crier.js";

/** crier.js options plus the seed's names. */
export interface HookOptions extends RealtimeOptions {
  enabled?: boolean;
  reconnectDelay?: number;
  maxReconnectAttempts?: number;
}

export declare function RealtimeProvider(props: {
  client?: RealtimeClient;
  options?: RealtimeOptions;
  children?: ReactNode;
}): ReactNode;
export declare function useRealtimeClient(options?: HookOptions): RealtimeClient;
export declare function useRealtime(options?: HookOptions): {
  status: Status;
  isConnected: boolean;
  lastEvent: (RawEvent & { data: unknown }) | null;
  subscribe<T = any>(pattern: string, handler: Handler<T>): Unsubscribe;
  client: RealtimeClient;
};
export declare function useRealtimeModule<T = any>(
  module: string,
  handler: ModuleHandler<T>,
  options?: HookOptions,
): void;
export declare function useOptimisticUpdate<T extends Row = Row>(
  initial: T[],
  module: string,
  options?: HookOptions,
): {
  data: T[];
  store: OptimisticStore<T>;
  optimisticAdd(item: Partial<T>): PendingOp & { id: string; item: T };
  optimisticUpdate(id: unknown, patch: Partial<T>): PendingOp;
  optimisticRemove(id: unknown): PendingOp;
  syncData(items: T[]): void;
  create(item: Partial<T>, request: (row: T) => Promise<T>): Promise<T>;
  update<R>(id: unknown, patch: Partial<T>, request: () => Promise<R>): Promise<R>;
  remove<R>(id: unknown, request: () => Promise<R>): Promise<R>;
  refetch(load: () => Promise<T[]>): Promise<void>;
};
