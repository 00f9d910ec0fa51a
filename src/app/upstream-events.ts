/**
 * Upstreams report through events; here they reach the catalog, the
 * sessions and the log.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { Hub } from '../session/hub.js';
import { ConnectionPool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/server.js';

export interface UpstreamListeners {
  catalog: Catalog;
  hub: () => Hub;
  metrics: () => Metrics;
  log: Logger;
}

export function wireUpstream(upstream: Upstream, { catalog, hub, metrics, log }: UpstreamListeners): Upstream {
  upstream.on('lists', (kinds) => {
    catalog.rebuild();
    reportConflicts(catalog, log);
    hub().listsChanged(kinds, upstream.name);
  });
  upstream.on('state', (state, error) => {
    if (state === 'ready') {
      log.info('upstream ready', { server: upstream.name, wire: upstream.wire, tools: upstream.lists.tools.length });
      void hub().resubscribe(upstream);
    } else if (state === 'down' && error !== 'stopped') {
      log.warn('upstream down', { server: upstream.name, error });
    }
  });
  upstream.on('notification', (notification, origins) => hub().upstreamNotification(upstream, notification, origins));
  upstream.on('stderrTruncated', () => metrics().stderrTruncated(upstream.name));
  return upstream;
}

function reportConflicts(catalog: Catalog, log: Logger): void {
  for (const c of catalog.conflicts) {
    if (c.reason === 'collision')
      log.warn('name collision: first server in config order wins', { kind: c.kind, name: c.name, exposedFrom: c.winner, hiddenFrom: c.hidden });
    else log.warn('name not exposed: not a valid MCP tool name', { kind: c.kind, name: c.name, server: c.hidden[0] });
  }
}

/** Sessions' own upstream connections (stdio `perSession`, per-caller credentials), wired like the shared ones. */
export function createPool(listeners: UpstreamListeners, auth: PoolAuth): ConnectionPool {
  const { hub, metrics, log } = listeners;
  return new ConnectionPool(
    log,
    (connection) =>
      connection
        .on('notification', (notification, origins) => hub().upstreamNotification(connection, notification, origins))
        .on('stderrTruncated', () => metrics().stderrTruncated(connection.name)),
    auth,
    // At maxProcesses an idle session's child may go to another session; one with a call in flight never does.
    { sessionBusy: (id): boolean => hub().sessions.isBusy(id), onReclaimed: (server) => metrics().processReclaimed(server) },
  );
}

type PoolAuth = ConstructorParameters<typeof ConnectionPool>[2];

/** Open upstream connections per server: the shared one when ready, plus sessions' own. */
export function connectionCounts(upstreams: readonly Upstream[], pool: ConnectionPool): Record<string, number> {
  const own = pool.countsByServer();
  return Object.fromEntries(upstreams.map((u) => [u.name, (u.state === 'ready' ? 1 : 0) + (own[u.name] ?? 0)]));
}

/** Resolves once every enabled upstream is ready or has failed once, or the time is up. */
export function settledUpstreams(upstreams: readonly Upstream[], timeoutMs: number): Promise<void> {
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
