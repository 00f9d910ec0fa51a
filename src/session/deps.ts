/**
 * What a session's SDK server is given (one set per gateway, from the hub)
 * and what it keeps per session: plain types, so that the server and the
 * routed call can both name them without importing each other.
 */
import type { LoggingLevel } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog/catalog.js';
import type { Principal } from '../core/principal.js';
import type { Logger } from '../observability/log.js';
import type { DecisionMaker } from '../pipeline/authorize.js';
import type { Pipeline, SessionInfo } from '../pipeline/index.js';
import type { View } from '../pipeline/view.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/server.js';
import type { ToolIndexes } from './disclosure.js';
import type { InputBridge } from './input-bridge.js';
import type { Listings } from './lists.js';
import type { PersonalCatalogDeps } from './personal-catalog.js';
import type { SubscriptionRegistry } from './registry.js';
import type { TaskHandles } from './task-handles.js';
import type { TaskMethod } from '../upstream/tasks.js';

export interface SessionServerDeps {
  catalog: Catalog;
  /** Set when some server acts as each caller: their own lists join the catalog. */
  personal?: PersonalCatalogDeps;
  pipeline: Pipeline;
  upstreams: readonly Upstream[];
  subscriptions: SubscriptionRegistry;
  pool: ConnectionPool;
  log: Logger;
  /** Name and version the gateway presents to clients. */
  serverInfo: { name: string; version: string };
  instructions: () => string | undefined;
  /** Aborted when shutdown stops waiting for calls in flight. */
  shutdown: AbortSignal;
  /** Resolves once every upstream has come up or failed once since start (bounded). */
  started: () => Promise<void>;
  /** The policy in force now. */
  policy: () => DecisionMaker;
  /** Parked calls of 2026-07-28 clients waiting for their input. */
  inputs: InputBridge;
  /** This gateway's cache of filtered lists. */
  listings: Listings;
  /** This gateway's search indexes for endpoints with `disclosure: "search"`. */
  toolIndexes: ToolIndexes;
  /** The task handles this gateway issues (tasks.ts). */
  tasks: TaskHandles;
  /** Where what happens to tasks is reported (audit, metrics). */
  taskEvents: (event: TaskEvent) => void;
}

/** Mutable per-session state the server's handlers keep. */
export interface SessionState {
  info: SessionInfo;
  /**
   * Who this session belongs to (authenticated at the edge when it opened).
   * Over HTTP only its id binds the session: each request is decided with the
   * principal of its own credential (requestPrincipal in auth/principal.ts).
   */
  principal: Principal;
  /** What the endpoint it came through shows (a profile's part, or everything). */
  view: View;
  logLevel?: LoggingLevel;
}

/**
 * What happened to a task, for the audit trail and metrics: created by a
 * call, polled, given input, cancelled, or a handle that did not open.
 * Input is named by its keys only; its values are the user's answers.
 */
export interface TaskEvent {
  event: 'created' | 'polled' | 'updated' | 'cancelled' | 'refused';
  principal: string;
  server?: string;
  upstreamTaskId?: string;
  /** The call that created the task (its audit record's requestId). */
  requestId?: string;
  method?: TaskMethod;
  inputKeys?: string[];
}
