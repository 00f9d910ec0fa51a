/**
 * The composition root: the only place that wires concrete parts together.
 * Upstreams report through events; this file routes them to the catalog and
 * to the downstream sessions.
 */
import { createServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpAuthenticator } from '../auth/http.js';
import { createJwtVerifier } from '../auth/jwt.js';
import { stdioPrincipal as stdioPrincipalOf, type Principal } from '../core/principal.js';
import { revokedBy } from '../auth/revoked.js';
import { Catalog } from '../catalog/catalog.js';
import type { LoadedConfig, ServerConfig } from '../config/schema.js';
import { createHttpFront, type HttpFront } from '../http/front.js';
import { Hub } from '../session/hub.js';
import type { SessionRegistry } from '../session/registry.js';
import { createAuditSink } from '../observability/audit.js';
import { createRateLimitBackend } from '../ratelimit/index.js';
import { SubjectTokens } from '../auth/subject-tokens.js';
import { createCredentialStore, type CredentialStore } from '../credentials/index.js';
import { TokenExchanger } from '../credentials/token-exchange.js';
import { callerAuth } from '../credentials/upstream-auth.js';
import { UserOAuth, type UserOAuthOptions } from '../credentials/user-oauth.js';
import type { CredentialSources } from '../pipeline/credentials.js';
import { createMetrics } from '../observability/metrics.js';
import { createTracer } from '../observability/trace.js';
import { metricsEndpoint, metricsOnlyApp } from '../http/metrics-endpoint.js';
import { probeGuard } from '../http/origin.js';
import type { Logger } from '../observability/log.js';
import { PolicyRuntime } from './policy-runtime.js';
import { readinessOf } from './readiness.js';
import { ConfigRuntime } from './config-runtime.js';
import { buildPipeline, type Pipeline } from '../pipeline/index.js';
import { scopeShortfall } from '../pipeline/preflight.js';
import { ConnectionPool } from '../upstream/pool.js';
import { Upstream } from '../upstream/upstream.js';

export const VERSION = '0.1.0';
const RESPONSE_FLUSH_MS = 100;
/** How long a request waits for upstreams that are still connecting at start. */
const STARTUP_WAIT_MS = 15_000;

export interface Gateway {
  /** The configuration in force (reloads replace it). */
  readonly config: LoadedConfig;
  /** The config file's hot reload (file change, Kubernetes symlink swap, SIGHUP). */
  readonly configRuntime: ConfigRuntime;
  readonly upstreams: readonly Upstream[];
  readonly catalog: Catalog;
  readonly hub: Hub;
  readonly policy: PolicyRuntime;
  /** Who a `--stdio` client is (`gateway.stdioPrincipal`). */
  readonly stdioPrincipal: Principal;
  /** Starts every enabled upstream (connections continue in the background). */
  start(): void;
  /** Resolves once every enabled upstream is ready or has failed once, or the time is up. */
  settled(timeoutMs: number): Promise<void>;
  /** Serves HTTP; resolves with the base URL. */
  listen(host?: string, port?: number): Promise<{ url: string; port: number }>;
  readiness(): { ready: boolean; body: unknown };
  /** Stops accepting, closes sessions, stops every upstream and its children. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Where audit lines go instead of `gateway.audit.file` (tests). */
  auditWrite?: (line: string) => void;
}

export function createGateway(config: LoadedConfig, log: Logger, options: GatewayOptions = {}): Gateway {
  const { gateway: settings } = config;
  // Policies load first: a broken policy set stops the gateway before anything starts.
  const policy = new PolicyRuntime(config, log, (reason) => metrics.policyReloadRefused(reason));
  const audit = createAuditSink(settings.audit, options.auditWrite);
  // The canonical URL of the MCP endpoint: configured, else this server's own (known once listening).
  let boundUrl: string | undefined;
  const resource = () => settings.auth.resource ?? `${boundUrl ?? `http://${settings.listen.host}:${settings.listen.port}`}${settings.path}`;
  const jwtSettings = settings.auth.jwt;
  // The callers' verified JWTs, for token exchange: this gateway's own, never shared across instances.
  const subjectTokens = new SubjectTokens();
  const authenticatorFor = (auth: LoadedConfig['gateway']['auth']) =>
    createHttpAuthenticator(auth, { jwt: auth.jwt && createJwtVerifier(auth.jwt, { audience: () => [resource()] }), subjectTokens });
  // Swapped when a reloaded configuration changes gateway.auth.
  let currentAuthenticator = authenticatorFor(settings.auth);
  const authenticate: typeof currentAuthenticator = (headers) => currentAuthenticator(headers);
  const protectedResource = jwtSettings && { resource, authorizationServers: jwtSettings.authorizationServers, scopesSupported: jwtSettings.scopesSupported };
  const stdioPrincipal = stdioPrincipalOf(settings.stdioPrincipal);
  const upstreams = config.servers.map(
    (server) => new Upstream(server, log.child({ server: server.name }), undefined, settings.maxRequestTimeoutMs),
  );
  const catalog = new Catalog(upstreams, settings.separator);
  const callers = callerCredentials(config, settings, log, subjectTokens, {
    publicUrl: () => publicUrl(),
    onConnected: (principal, server, elicitationId) => hub.callerConnected(principal, server, elicitationId),
    onEvent: (server, event, outcome) => metrics.callerCredential(server, event, outcome),
  });
  const pool = new ConnectionPool(
    log,
    (connection) =>
      connection
        .on('notification', (notification, origins) => hub.upstreamNotification(connection, notification, origins))
        .on('stderrTruncated', () => metrics.stderrTruncated(connection.name)),
    (server, principal) => callerAuth(server, principal, callers),
    // At maxProcesses an idle session's child may go to another session; one with a call in flight never does.
    { sessionBusy: (id): boolean => hub.sessions.isBusy(id), onReclaimed: (server) => metrics.processReclaimed(server) },
  );
  // Where users are sent to connect their own upstream accounts.
  const publicUrl = () => (settings.publicUrl ?? (settings.auth.resource ? new URL(settings.auth.resource).origin : boundUrl ?? `http://${settings.listen.host}:${settings.listen.port}`)).replace(/\/+$/, '');
  const inflight = new InFlight();
  // Metrics read the store's state lazily; the store reports failures into metrics.
  const limits = createRateLimitBackend(settings.rateLimit.store, log, {
    onFailure: (failMode) => metrics.rateLimitStoreFailure(failMode),
  });
  const metrics = createMetrics({
    servers: () => upstreams.map((u) => u.name),
    profiles: Object.keys(settings.profiles),
    ruleIds: () => policy.engine.ruleIds,
    sources: {
      upstreams: () => upstreams,
      sessions: () => hub.sessions.countBy(),
      connections: () => connectionCounts(upstreams, pool),
      catalogCounts: () => catalog.counts(),
      ...(limits.health().type === 'redis' ? { rateLimitStoreUp: () => limits.health().state === 'up' } : {}),
    },
  });
  const tracer = settings.tracing.enabled
    ? createTracer(settings.tracing).then(({ tracer: t, spans }) => {
        log.info('tracing on', { spans: spans ? 'recorded through @opentelemetry/api' : 'not recorded (@opentelemetry/api is not installed); trace context is propagated' });
        return t;
      })
    : undefined;
  const pipeline = inflight.track(
    buildPipeline({ catalog, pool, policy: () => policy.engine, limits: limits.store, audit, metrics, log, tracer, credentials: callers }),
    () => hub.sessions,
  );
  const personal = upstreams.some((u) => u.perCaller)
    ? { upstreams, pool, separator: settings.separator, hasCredential: (principal: string, server: ServerConfig) => hasCallerCredential(callers, principal, server), log }
    : undefined;
  const hub = new Hub({
    catalog,
    pipeline,
    pool,
    upstreams,
    log,
    serverInfo: { name: 'switchboard', version: VERSION },
    started: () => started,
    policy: () => policy.engine,
    personal,
    replicaId: settings.replicaId,
  });
  let http: { front: HttpFront; server: HttpServer; metricsServer?: HttpServer } | undefined;
  let started: Promise<void> = Promise.resolve();
  let stopped = false;
  let draining = false;

  for (const upstream of upstreams) wire(upstream);

  function wire(upstream: Upstream): void {
    upstream.on('lists', (kinds) => {
      catalog.rebuild();
      reportConflicts(catalog, log);
      hub.listsChanged(kinds, upstream.name);
    });
    upstream.on('state', (state, error) => {
      if (state === 'ready') {
        log.info('upstream ready', { server: upstream.name, wire: upstream.wire, tools: upstream.lists.tools.length });
        void hub.resubscribe(upstream);
      } else if (state === 'down' && error !== 'stopped') {
        log.warn('upstream down', { server: upstream.name, error });
      }
    });
    upstream.on('notification', (notification, origins) => hub.upstreamNotification(upstream, notification, origins));
    upstream.on('stderrTruncated', () => metrics.stderrTruncated(upstream.name));
  }

  let current = config;
  /**
   * Applies a reloaded configuration without dropping sessions: servers
   * added, removed or changed are started, stopped or restarted (the others
   * keep their connections), authentication and policies switch over; any
   * other change is named as needing a restart.
   */
  async function reconfigure(next: LoadedConfig): Promise<void> {
    const before = new Map(upstreams.map((u) => [u.name, u]));
    const same = (a: ServerConfig, b: ServerConfig) => JSON.stringify(a) === JSON.stringify(b);
    const restartNeeded = changedGatewayKeys(current.gateway, next.gateway).filter((k) => !RELOADABLE_GATEWAY_KEYS.has(k));
    const changes: string[] = [];
    const retired: Upstream[] = [];
    const ordered = next.servers.map((server) => {
      const existing = before.get(server.name);
      if (existing && same(existing.config, server)) return existing;
      if (server.credentials !== 'static' || existing?.perCaller) restartNeeded.push(`mcpServers.${server.name} (credentials)`);
      if (existing) retired.push(existing);
      changes.push(`${existing ? 'restarted' : 'added'} ${server.name}`);
      const fresh = new Upstream(server, log.child({ server: server.name }), undefined, settings.maxRequestTimeoutMs);
      wire(fresh);
      return fresh;
    });
    for (const [name, u] of before) if (!next.servers.some((s) => s.name === name)) (retired.push(u), changes.push(`removed ${name}`));
    upstreams.splice(0, upstreams.length, ...ordered);
    for (const u of retired) {
      pool.dropServer(u.name);
      await u.stop();
    }
    for (const u of ordered) if (!before.has(u.name) || retired.includes(before.get(u.name)!)) u.start();
    catalog.rebuild();
    for (const change of changes) hub.listsChanged(['tools', 'prompts', 'resources', 'resourceTemplates'], change.split(' ')[1]!);
    if (JSON.stringify(current.gateway.auth) !== JSON.stringify(next.gateway.auth)) {
      currentAuthenticator = authenticatorFor(next.gateway.auth);
      changes.push('gateway.auth');
      // Sessions opened with a credential that no longer works end now, not at their idle timeout.
      const revoked = revokedBy(current.gateway.auth, next.gateway.auth);
      for (const session of hub.sessions.all()) if (revoked(session.principal)) void session.close();
    }
    const policyInputs = (c: LoadedConfig) =>
      JSON.stringify([c.gateway.policies, c.gateway.defaultEffect, c.servers.map((s) => [s.name, s.trustAnnotations]), c.skipped.map((s) => s.name)]);
    if (policyInputs(current) !== policyInputs(next)) {
      policy.useConfig(next);
      changes.push('policies');
    }
    current = { ...next, gateway: { ...settings, auth: next.gateway.auth, policies: next.gateway.policies, defaultEffect: next.gateway.defaultEffect } };
    log.info('config reloaded', { changes, ...(restartNeeded.length > 0 ? { restartNeeded } : {}) });
    if (restartNeeded.length > 0) log.warn('some configuration changes take effect only after a restart', { keys: restartNeeded });
  }
  const configRuntime = new ConfigRuntime(config.file, process.env, log, reconfigure);

  const readiness = readinessOf({ stopped: () => stopped, config: () => current, upstreams, catalog, hub, pool, policy, rateLimitHealth: () => limits.health() });

  return {
    get config() {
      return current;
    },
    configRuntime,
    upstreams,
    catalog,
    hub,
    policy,
    stdioPrincipal,
    readiness,
    start() {
      policy.watch();
      if (ConfigRuntime.watchable(config.file)) configRuntime.watch();
      hub.sessions.startSweeper(settings.sessionIdleMs);
      for (const upstream of upstreams) upstream.start();
      started = settledUpstreams(upstreams, STARTUP_WAIT_MS);
    },
    settled: (timeoutMs) => settledUpstreams(upstreams, timeoutMs),
    async listen(host = settings.listen.host, port = settings.listen.port) {
      // The address actually bound decides which Host headers are loopback-only.
      const separateMetrics = settings.metrics.enabled && settings.metrics.port !== undefined;
      const metricsHandler = settings.metrics.enabled ? metricsEndpoint(metrics, settings.metrics.sha256) : undefined;
      const front = createHttpFront({
        hub,
        authenticate,
        settings: { ...settings, listen: { host, port } },
        log,
        readiness,
        metrics: separateMetrics ? undefined : metricsHandler,
        protectedResource,
        scopeShortfall: (who, message) => scopeShortfall(catalog, policy.engine, who, message),
        draining: () => draining,
        streams: { reporter: metrics },
        userOAuth: callers.userOAuth && { userOAuth: callers.userOAuth, onRevoked: (principal, server) => pool.dropCaller(principal, server) },
        sessionLimitEvents: { refused: (reason) => metrics.sessionRefused(reason), evicted: (reason) => metrics.sessionEvicted(reason) },
      });
      const server = await listenOn(createServer(front.handle), host, port);
      server.keepAliveTimeout = 65_000;
      const metricsServer =
        separateMetrics && metricsHandler
          ? await listenOn(createServer(metricsOnlyApp(metricsHandler, probeGuard({ ...settings, listen: { host: settings.metrics.host ?? host } }))), settings.metrics.host ?? host, settings.metrics.port!)
          : undefined;
      http = { front, server, metricsServer };
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      boundUrl = `http://${shownHost}:${address.port}`;
      return { url: `http://${shownHost}:${address.port}`, port: address.port };
    },
    async stop() {
      // Unready first, so a load balancer stops sending here while we still serve what it sends.
      stopped = true;
      if (http && settings.shutdownDelayMs > 0) {
        log.info('unready; still serving before stopping', { shutdownDelayMs: settings.shutdownDelayMs });
        await new Promise((resolve) => setTimeout(resolve, settings.shutdownDelayMs));
      }
      // Refuse new work (the listener stays open, see refuseWhileDraining), let calls in flight finish (bounded), then close everything.
      draining = true;
      if (inflight.count > 0) {
        log.info('draining calls in flight', { count: inflight.count, drainMs: settings.drainMs });
        await inflight.drained(settings.drainMs);
      }
      if (inflight.count > 0) {
        hub.abortInFlight();
        await inflight.drained(1_000);
      }
      // The last answers are written after their handlers return: let them reach the wire.
      await new Promise((resolve) => setTimeout(resolve, RESPONSE_FLUSH_MS));
      if (http) closeGracefully(http.server);
      http?.metricsServer?.close();
      await http?.front.close();
      await hub.close();
      await pool.closeAll();
      await Promise.allSettled(upstreams.map((u) => u.stop()));
      policy.close();
      configRuntime.close();
      await limits.close();
      await callers.store?.close();
      await audit.close();
      http?.server.closeAllConnections();
      http?.metricsServer?.closeAllConnections();
    },
  };
}

/** What a reload applies at once; every other gateway key needs a restart. */
const RELOADABLE_GATEWAY_KEYS = new Set(['auth', 'policies', 'defaultEffect', 'servers']);

function changedGatewayKeys(a: LoadedConfig['gateway'], b: LoadedConfig['gateway']): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const value = (settings: LoadedConfig['gateway'], key: string) => JSON.stringify((settings as unknown as Record<string, unknown>)[key]);
  return [...keys].filter((k) => value(a, k) !== value(b, k));
}

/**
 * Callers' own upstream credentials: the encrypted store and the sign-in
 * flow when some server has credentials "user-oauth", and the token
 * exchanger for "token-exchange".
 */
function callerCredentials(
  config: LoadedConfig,
  settings: LoadedConfig['gateway'],
  log: Logger,
  subjectTokens: SubjectTokens,
  hooks: Pick<UserOAuthOptions, 'publicUrl' | 'onConnected'> & { onEvent: (server: string, event: 'signin' | 'refresh' | 'exchange', outcome: 'ok' | 'failed') => void },
): CredentialSources & { store?: CredentialStore } {
  const exchanger = new TokenExchanger((server, outcome) => hooks.onEvent(server, 'exchange', outcome));
  const userServers = config.servers.filter((s) => s.credentials === 'user-oauth');
  if (userServers.length === 0 || !settings.credentials) return { exchanger, subjectTokens };
  const store = createCredentialStore(settings.credentials, log);
  const userOAuth = new UserOAuth({ store, servers: userServers, log, ...hooks });
  return { exchanger, userOAuth, store, subjectTokens };
}

async function hasCallerCredential(callers: CredentialSources, principal: string, server: ServerConfig): Promise<boolean> {
  if (server.credentials === 'token-exchange') return callers.subjectTokens.of(principal) !== undefined;
  return (await callers.userOAuth?.accessToken(principal, server.name)) !== undefined;
}

/**
 * Stops accepting connections. Idle keep-alive connections close now; a
 * request still arriving on a busy one is served and its connection closed
 * after, so a proxy's next request opens a new connection, is refused, and
 * goes to another replica instead of reaching one that is about to vanish.
 */
function closeGracefully(server: HttpServer): void {
  server.close();
  server.on('request', (_req, res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
}

/** Counts forwarded requests in flight, so shutdown can wait for them. */
class InFlight {
  count = 0;
  private waiters: (() => void)[] = [];

  /**
   * `sessions` also hears of each call, so that a session with one in flight
   * counts as busy: never closed for a new session or by the idle sweep, and
   * its child processes never reclaimed.
   */
  track(pipeline: Pipeline, sessions: () => Pick<SessionRegistry, 'callStarted' | 'callEnded'>): Pipeline {
    return async (ctx) => {
      this.count++;
      const registry = sessions();
      registry.callStarted(ctx.session.id);
      try {
        return await pipeline(ctx);
      } finally {
        registry.callEnded(ctx.session.id);
        if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
      }
    };
  }

  drained(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function listenOn(server: HttpServer, host: string, port: number): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Open upstream connections per server: the shared one when ready, plus sessions' own. */
function connectionCounts(upstreams: readonly Upstream[], pool: ConnectionPool): Record<string, number> {
  const own = pool.countsByServer();
  return Object.fromEntries(upstreams.map((u) => [u.name, (u.state === 'ready' ? 1 : 0) + (own[u.name] ?? 0)]));
}

function settledUpstreams(upstreams: readonly Upstream[], timeoutMs: number): Promise<void> {
  const pending = upstreams.filter((u) => u.state === 'connecting' || (u.state === 'down' && u.lastError === undefined));
  if (pending.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    const onState = () => {
      if (pending.every((u) => u.state === 'ready' || (u.state === 'down' && u.lastError !== undefined) || u.state === 'disabled')) done();
    };
    for (const u of pending) u.on('state', onState);
    function done() {
      clearTimeout(timer);
      for (const u of pending) u.off('state', onState);
      resolve();
    }
  });
}

function reportConflicts(catalog: Catalog, log: Logger): void {
  for (const c of catalog.conflicts) {
    if (c.reason === 'collision') log.warn('name collision: first server in config order wins', { kind: c.kind, name: c.name, exposedFrom: c.winner, hiddenFrom: c.hidden });
    else log.warn('name not exposed: not a valid MCP tool name', { kind: c.kind, name: c.name, server: c.hidden[0] });
  }
}
