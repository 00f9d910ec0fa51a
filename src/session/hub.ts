/**
 * The downstream side's shared state: live sessions, subscriptions, and the
 * fan-out of upstream events to them. List changes are coalesced so a burst
 * of upstream notifications becomes one notification per kind per session.
 */
import type { LoggingLevel, Notification, Server, ServerNotifier } from '@modelcontextprotocol/server';
import type { Principal } from '../core/principal.js';
import { GatewayError } from '../core/errors.js';
import type { Catalog } from '../catalog/catalog.js';
import { exposeUri } from '../catalog/names.js';
import type { Logger } from '../observability/log.js';
import type { DecisionMaker } from '../pipeline/authorize.js';
import type { View } from '../pipeline/view.js';
import type { Pipeline, SessionInfo } from '../pipeline/index.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { CallOrigin, ListKind, Upstream } from '../upstream/server.js';
import { InputBridge } from './input-bridge.js';
import { ToolIndexes } from './disclosure.js';
import { Listings } from './lists.js';
import { subscribeForListen } from './listen-subscriptions.js';
import type { PersonalCatalogDeps } from './personal-catalog.js';
import { createSessionServer, type SessionServerDeps, type SessionState } from './server.js';
import type { TaskEvent } from './deps.js';
import { SessionRegistry, SubscriptionRegistry, type Session } from './registry.js';
import { TaskHandles } from './task-handles.js';

const LEVELS: LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
const LIST_CHANGED_DEBOUNCE_MS = 25;

export interface HubOptions {
  catalog: Catalog;
  pipeline: Pipeline;
  pool: ConnectionPool;
  upstreams: readonly Upstream[];
  log: Logger;
  serverInfo: { name: string; version: string };
  started: () => Promise<void>;
  policy: () => DecisionMaker;
  personal?: PersonalCatalogDeps;
  /** Names this replica in parked calls' requestState (see gateway.replicaId). */
  replicaId?: string;
  /** What happens to tasks (audit, metrics). */
  onTask?: (event: TaskEvent) => void;
}

export class Hub {
  readonly sessions: SessionRegistry;
  readonly subscriptions = new SubscriptionRegistry();
  private readonly inputs: InputBridge;
  private readonly serverDeps: SessionServerDeps;
  private readonly modernNotifiers = new Map<ServerNotifier, View>();
  /** List kinds changed since the last flush, and the servers they changed on. */
  private pending = new Map<'tools' | 'prompts' | 'resources', Set<string>>();
  private flushTimer?: NodeJS.Timeout;
  private readonly shutdown = new AbortController();

  constructor(private readonly options: HubOptions) {
    this.inputs = new InputBridge(options.replicaId);
    this.sessions = new SessionRegistry((s) => this.onSessionRemoved(s));
    this.serverDeps = {
      catalog: options.catalog,
      pipeline: options.pipeline,
      upstreams: options.upstreams,
      subscriptions: this.subscriptions,
      pool: options.pool,
      log: options.log,
      serverInfo: options.serverInfo,
      instructions: () => this.instructions(),
      shutdown: this.shutdown.signal,
      started: options.started,
      policy: options.policy,
      inputs: this.inputs,
      // The hub is one per gateway: so is its cache of filtered lists.
      listings: new Listings(),
      toolIndexes: new ToolIndexes(),
      tasks: new TaskHandles(),
      taskEvents: options.onTask ?? (() => {}),
      personal: options.personal,
    };
  }

  /** A fresh SDK server for one session (or one stateless request). */
  createServer(state: SessionState): Server {
    return createSessionServer(this.serverDeps, state);
  }

  /** Registers a sessionful client; `close` must tear down its transport. */
  register(info: SessionInfo, server: Server, state: SessionState, close: () => Promise<void>): Session {
    let closing: Promise<void> | undefined;
    const session: Session = {
      info,
      principal: state.principal,
      view: state.view,
      server,
      get logLevel() {
        return state.logLevel;
      },
      lastActive: Date.now(),
      close: () =>
        (closing ??= (async () => {
          this.sessions.remove(info.id);
          await close().catch(() => {});
          await server.close().catch(() => {});
        })()),
    };
    this.sessions.add(session);
    return session;
  }

  /** The stateless (2026-07-28) handler's notifier, for list changes and resource updates. */
  addModernNotifier(notifier: ServerNotifier, view: View): void {
    this.modernNotifiers.set(notifier, view);
  }

  /**
   * A 2026-07-28 client's `subscriptions/listen` filter: each URI is
   * subscribed upstream through the pipeline (listen-subscriptions.ts) until
   * the returned release is called (the stream closed).
   */
  listenOpened(principal: Principal, view: View, profile: string | undefined, uris: readonly string[]): Promise<() => void> {
    const { pipeline, log } = this.options;
    const env = { pipeline, log, shutdown: this.shutdown.signal, subscriptions: this.subscriptions };
    return subscribeForListen(env, { principal, view, profile, uris }, (listenId) => this.dropSubscriptions(listenId));
  }

  /**
   * A caller connected their own account to `server`: the sessions that
   * asked (by URL elicitation) hear that it is complete, and their tool
   * lists now include what the upstream offers them.
   */
  callerConnected(principal: string, server: string, elicitationId: string): void {
    for (const session of this.sessions.all()) {
      if (session.principal.id !== principal) continue;
      const caps = session.server.getClientCapabilities()?.elicitation as { url?: unknown } | undefined;
      if (caps?.url) void session.server.notification({ method: 'notifications/elicitation/complete', params: { elicitationId } }).catch(() => {});
    }
    this.listsChanged(['tools', 'prompts', 'resources'], server);
  }

  /** Called when upstream lists or states change and the catalog was rebuilt. */
  listsChanged(kinds: ListKind[], server: string): void {
    for (const kind of kinds) {
      const key = kind === 'resourceTemplates' ? 'resources' : kind;
      let servers = this.pending.get(key);
      if (!servers) this.pending.set(key, (servers = new Set()));
      servers.add(server);
    }
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flushListChanged(), LIST_CHANGED_DEBOUNCE_MS);
  }

  /** Routes an upstream's unsolicited notification to the sessions it concerns, and no others. */
  upstreamNotification(upstream: Upstream, notification: Notification, origins: CallOrigin[]): void {
    const params = (notification.params ?? {}) as Record<string, unknown>;
    if (origins.length === 0 && upstream.owner !== undefined) {
      const owner = this.sessions.get(upstream.owner);
      if (owner) origins = [this.unrelatedOrigin(owner)];
    }
    switch (notification.method) {
      case 'notifications/resources/updated':
        return this.resourceUpdated(upstream, String(params.uri ?? ''), params);
      case 'notifications/message':
        return this.logMessage(upstream, params, origins);
      default: {
        // Other related notifications (elicitation/complete, …) go to the
        // one session in flight, or nowhere: never to a stranger.
        const sessions = new Set(origins.map((o) => o.sessionId));
        if (sessions.size === 1) void origins[0]!.notify(notification).catch(() => {});
        else this.options.log.debug('unattributable upstream notification dropped', { server: upstream.name, method: notification.method });
      }
    }
  }

  /** Subscriptions an upstream lost when it restarted are renewed. */
  async resubscribe(upstream: Upstream): Promise<void> {
    for (const uri of this.subscriptions.resourcesOf(upstream)) {
      await upstream
        .request('resources/subscribe', { uri })
        .catch((err: unknown) => this.options.log.warn('resubscribe failed', { server: upstream.name, uri, error: String(err) }));
    }
  }

  /** Fails every call still in flight with a clear error, so no client is left waiting. */
  abortInFlight(): void {
    this.shutdown.abort(new GatewayError('UPSTREAM_UNAVAILABLE', 'Switchboard is shutting down', { reason: 'shutdown' }));
  }

  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.inputs.close();
    await this.sessions.closeAll();
  }

  /** An origin for messages that relate to no request: they go on the session's own stream. */
  private unrelatedOrigin(session: Session): CallOrigin {
    return {
      sessionId: session.info.id,
      clientCapabilities: session.server.getClientCapabilities(),
      send: (request) => session.server.request(request as { method: 'roots/list' }),
      notify: (notification) => session.server.notification(notification),
    };
  }

  private instructions(): string | undefined {
    const parts = this.options.upstreams.filter((u) => u.state === 'ready' && u.instructions).map((u) => `## ${u.name}\n${u.instructions}`);
    return parts.length > 0 ? parts.join('\n\n') : undefined;
  }

  /** Each endpoint hears only of changes on servers its view includes. */
  private flushListChanged(): void {
    this.flushTimer = undefined;
    const pending = this.pending;
    this.pending = new Map();
    const concerns = (view: View, servers: Set<string>) => [...servers].some((s) => view.hasServer(s));
    for (const [kind, servers] of pending) {
      const method = `notifications/${kind}/list_changed`;
      for (const session of this.sessions.all()) {
        if (concerns(session.view, servers)) void session.server.notification({ method }).catch(() => {});
      }
      for (const [notifier, view] of this.modernNotifiers) {
        if (!concerns(view, servers)) continue;
        if (kind === 'tools') notifier.toolsChanged();
        else if (kind === 'prompts') notifier.promptsChanged();
        else notifier.resourcesChanged();
      }
    }
  }

  private resourceUpdated(upstream: Upstream, original: string, params: Record<string, unknown>): void {
    const subscribed = this.subscriptions.subscribers(upstream, original);
    const exposed = subscribed?.exposed ?? exposeUri(upstream.config.prefix, original);
    for (const id of subscribed?.sessions ?? []) {
      const session = this.sessions.get(id);
      void session?.server.notification({ method: 'notifications/resources/updated', params: { ...params, uri: exposed } }).catch(() => {});
    }
    for (const [notifier, view] of this.modernNotifiers) if (view.hasServer(upstream.name)) notifier.resourceUpdated(exposed);
  }

  /** Log messages go to the one session in flight, tagged with the upstream's name, if its level allows. */
  private logMessage(upstream: Upstream, params: Record<string, unknown>, origins: CallOrigin[]): void {
    const sessions = new Set(origins.map((o) => o.sessionId));
    if (sessions.size !== 1) {
      this.options.log.debug('upstream log message not attributable to one session', { server: upstream.name });
      return;
    }
    const origin = origins[0]!;
    const level = this.sessions.get(origin.sessionId)?.logLevel;
    if (level && LEVELS.indexOf(params.level as LoggingLevel) < LEVELS.indexOf(level)) return;
    const logger = typeof params.logger === 'string' ? `${upstream.name}/${params.logger}` : upstream.name;
    void origin.notify({ method: 'notifications/message', params: { ...params, logger } }).catch(() => {});
  }

  private onSessionRemoved(session: Session): void {
    this.dropSubscriptions(session.info.id);
    void this.options.pool.release(session.info.id);
  }

  /** Forgets a subscriber; a shared upstream is unsubscribed when its last subscriber goes. */
  private dropSubscriptions(subscriberId: string): void {
    for (const dropped of this.subscriptions.dropSession(subscriberId)) {
      if (dropped.last && dropped.connection.owner === undefined) {
        void dropped.connection.request('resources/unsubscribe', { uri: dropped.original }).catch(() => {});
      }
    }
  }
}
