/**
 * The composition root: the only place that wires concrete parts together.
 * Reloads (reload.ts), start and stop (lifecycle.ts), the listeners
 * (http-server.ts) and upstream events (upstream-events.ts) have rooms of
 * their own; this file only builds the parts and hands them to each other.
 */
import { hostname } from 'node:os';
import { stdioPrincipal as stdioPrincipalOf, type Principal } from '../core/principal.js';
import { Catalog } from '../catalog/catalog.js';
import type { LoadedConfig, ServerConfig } from '../config/schema/index.js';
import { Hub } from '../session/hub.js';
import { createAuditSink } from '../observability/audit.js';
import { createRateLimitBackend } from '../ratelimit/index.js';
import { callerAuth } from '../credentials/upstream-auth.js';
import { createMetrics } from '../observability/metrics.js';
import { startTracing } from '../observability/trace.js';
import type { Logger } from '../observability/log.js';
import { PolicyRuntime } from './policy-runtime.js';
import { readinessOf } from './readiness.js';
import { ConfigRuntime } from './config-runtime.js';
import { consoleMount } from './console.js';
import { ContractRuntime, contractsChanged, personalContracts, quarantinedByServer } from './contract-runtime.js';
import { buildPipeline } from '../pipeline/index.js';
import { scopeShortfall } from '../pipeline/preflight.js';
import { Upstream } from '../upstream/server.js';
import { UpstreamCaches } from '../upstream/caches.js';
import type { Approvals } from '../approvals/approvals.js';
import { createApprovals } from './approvals.js';
import { packageInfo } from '../infra/package-info.js';
import { callerCredentials, hasCallerCredential } from './callers.js';
import { listenHttp } from './http-server.js';
import { GatewayIdentity } from './identity.js';
import { InFlight } from './in-flight.js';
import { Lifecycle } from './lifecycle.js';
import { Reload } from './reload.js';
import { connectionCounts, createPool, settledUpstreams, wireUpstream } from './upstream-events.js';

/** What clients, the console and the audit trail are told this gateway's version is: package.json's. */
const VERSION = packageInfo().version;

export interface Gateway {
  /** The configuration in force (reloads replace it). */
  readonly config: LoadedConfig;
  /** The config file's hot reload (file change, Kubernetes symlink swap, SIGHUP). */
  readonly configRuntime: ConfigRuntime;
  readonly upstreams: readonly Upstream[];
  readonly catalog: Catalog;
  readonly hub: Hub;
  readonly policy: PolicyRuntime;
  /** The contract lock in force and its guard (undefined guard: contracts are not checked). */
  readonly contracts: ContractRuntime;
  /** Calls waiting for a person's yes (approve rules), and their decisions. */
  readonly approvals: Approvals;
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
  const audit = createAuditSink(settings.audit, {
    ...(options.auditWrite ? { write: options.auditWrite } : {}),
    replica: settings.replicaId ?? hostname(),
    version: VERSION,
    onDropped: (records) => metrics.auditDropped(records),
  });
  const identity = new GatewayIdentity(settings);
  // Upstream OAuth tokens and keep-alive sockets: this gateway's upstreams', no other gateway's.
  const caches = new UpstreamCaches();
  const newUpstream = (server: ServerConfig) =>
    new Upstream(server, log.child({ server: server.name }), { maxTotalTimeoutMs: settings.maxRequestTimeoutMs, caches });
  const upstreams = config.servers.map(newUpstream);
  // The lock loads before the catalog is built: an invalid lock stops the gateway here.
  const contracts = new ContractRuntime(config, { log, audit, metrics: () => metrics, changed: () => contractsChanged(catalog, hub, upstreams) });
  const catalog = new Catalog(upstreams, settings.separator, contracts.guard);
  const listeners = { catalog, hub: () => hub, metrics: () => metrics, log };
  for (const upstream of upstreams) wireUpstream(upstream, listeners);
  const createUpstream = (server: ServerConfig) => wireUpstream(newUpstream(server), listeners);
  const callers = callerCredentials(config, log, identity.subjectTokens, {
    publicUrl: identity.publicUrl,
    onConnected: (principal, server, elicitationId) => hub.callerConnected(principal, server, elicitationId),
    onEvent: (server, event, outcome) => metrics.callerCredential(server, event, outcome),
  });
  const pool = createPool(listeners, (server, principal) => callerAuth(server, principal, callers));
  const inflight = new InFlight();
  const approvals = createApprovals(settings, { audit, metrics: () => metrics, log, publicUrl: identity.publicUrl, linkable: identity.linkable });
  // Metrics read the store's state lazily; the store reports failures into metrics.
  const limits = createRateLimitBackend(settings.rateLimit.store, log, { onFailure: (failMode) => metrics.rateLimitStoreFailure(failMode) });
  const metrics = createMetrics({
    servers: () => upstreams.map((u) => u.name),
    profiles: Object.keys(settings.profiles),
    ruleIds: () => policy.engine.ruleIds,
    sources: {
      upstreams: () => upstreams,
      sessions: () => hub.sessions.countBy(),
      connections: () => connectionCounts(upstreams, pool),
      catalogCounts: () => catalog.counts(),
      auditHealth: () => audit.health(),
      ...(contracts.guard ? { quarantined: () => quarantinedByServer(catalog) } : {}),
      approvalsPending: () => approvals.waiting(),
      ...(limits.health().type === 'redis' ? { rateLimitStoreUp: () => limits.health().state === 'up' } : {}),
    },
  });
  const tracer = settings.tracing.enabled ? startTracing(settings.tracing, log) : undefined;
  const pipeline = inflight.track(
    buildPipeline({
      catalog,
      pool,
      policy: () => policy.engine,
      policyVersion: () => policy.version,
      limits: limits.store,
      audit,
      metrics,
      log,
      tracer,
      credentials: callers,
      approvals: { approvals: approvals.approvals, shown: (args) => audit.recordable(args) as Record<string, unknown>, sessionTtlMs: settings.sessionIdleMs },
    }),
    () => hub.sessions,
  );
  const personal = upstreams.some((u) => u.perCaller)
    ? {
        upstreams,
        pool,
        separator: settings.separator,
        hasCredential: (principal: string, server: ServerConfig) => hasCallerCredential(callers, principal, server),
        log,
        ...(contracts.guard ? { contracts: personalContracts(contracts.guard) } : {}),
      }
    : undefined;
  const hub: Hub = new Hub({
    catalog,
    pipeline,
    pool,
    upstreams,
    log,
    serverInfo: { name: 'switchboard', version: VERSION },
    started: (): Promise<void> => lifecycle.started,
    policy: () => policy.engine,
    personal,
    replicaId: settings.replicaId,
    onTask: (event) => {
      metrics.task(event.server, event.event);
      // Polls are counted, not recorded: a client may poll every few hundred milliseconds.
      if (event.event !== 'polled') audit.writeEvent({ type: 'task', time: new Date().toISOString(), ...event });
    },
  });
  const reload = new Reload(config, { upstreams, createUpstream, pool, catalog, hub, policy, identity, log });
  const configRuntime = new ConfigRuntime(config.file, process.env, log, reload.apply);
  const stores = [limits, ...(callers.store ? [callers.store] : []), approvals, audit, { close: async () => caches.close() }];
  const lifecycle: Lifecycle = new Lifecycle({
    settings,
    configFile: config.file,
    log,
    inflight,
    hub,
    pool,
    upstreams,
    watched: [policy, contracts],
    configRuntime,
    stores,
  });
  const sources = { stopped: () => lifecycle.stopped, config: () => reload.config, rateLimitHealth: () => limits.health(), auditHealth: () => audit.health() };
  const credentialHealth = callers.store && (() => callers.store!.health());
  const readiness = readinessOf({
    ...sources,
    upstreams,
    catalog,
    hub,
    pool,
    policy,
    contracts,
    configRuntime,
    ...(credentialHealth ? { credentialHealth } : {}),
  });

  return {
    get config() {
      return reload.config;
    },
    configRuntime,
    upstreams,
    catalog,
    hub,
    policy,
    contracts,
    approvals: approvals.approvals,
    stdioPrincipal: stdioPrincipalOf(settings.stdioPrincipal),
    readiness,
    start: () => lifecycle.start(),
    settled: (timeoutMs) => settledUpstreams(upstreams, timeoutMs),
    async listen(host = settings.listen.host, port = settings.listen.port) {
      const http = await listenHttp(
        settings,
        metrics,
        {
          hub,
          authenticate: identity.authenticate,
          log,
          readiness,
          protectedResource: identity.protectedResource,
          scopeShortfall: (who, message) => scopeShortfall(catalog, policy.engine, who, message),
          draining: () => lifecycle.draining,
          approvals: { approvals: approvals.approvals, publicUrl: identity.publicUrl },
          toolSchema: (name) => catalog.resolveTool(name)?.item.inputSchema,
          userOAuth: callers.userOAuth && { userOAuth: callers.userOAuth, onRevoked: (principal, server) => pool.dropCaller(principal, server) },
          ...(settings.console.enabled
            ? {
                console: consoleMount({
                  settings,
                  identity,
                  audit,
                  log,
                  readiness,
                  catalog,
                  version: VERSION,
                  config: () => reload.config,
                  policy: () => policy.engine,
                  callers,
                  dropCaller: (p, s) => pool.dropCaller(p, s),
                  approvals: approvals.approvals,
                }),
              }
            : {}),
        },
        host,
        port,
      );
      lifecycle.http = http;
      identity.bound(http.url);
      return { url: http.url, port: http.port };
    },
    stop: () => lifecycle.stop(),
  };
}
