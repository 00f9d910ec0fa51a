/**
 * The body of `/readyz`: state only. An upstream's error is a class, the
 * rate-limit store's health has no error text, and a policy set that a
 * refused reload left in force says so (`policy.stale`). Messages, which can
 * quote a crashed child's stderr or name hosts, go to the log.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { LoadedConfig } from '../config/schema/index.js';
import type { Hub } from '../session/hub.js';
import type { Upstream } from '../upstream/server.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { PolicyRuntime } from './policy-runtime.js';

export interface ReadinessSources {
  stopped: () => boolean;
  config: () => LoadedConfig;
  upstreams: readonly Upstream[];
  catalog: Catalog;
  hub: Hub;
  pool: ConnectionPool;
  policy: PolicyRuntime;
  rateLimitHealth: () => { error?: string };
}

export function readinessOf(s: ReadinessSources): () => { ready: boolean; body: unknown } {
  return () => {
    const stopped = s.stopped();
    const { upstreams, catalog, policy } = s;
    const enabled = upstreams.filter((u) => u.state !== 'disabled');
    const counts = catalog.counts();
    const config = s.config();
    return {
      ready: !stopped,
      body: {
        status: stopped ? 'stopping' : 'ready',
        upstreams: Object.fromEntries(upstreams.map((u) => [u.name, upstreamState(u, counts[u.name])])),
        skipped: config.skipped,
        rateLimitStore: stateOnly(s.rateLimitHealth()),
        ready: enabled.filter((u) => u.state === 'ready').length,
        total: enabled.length,
        sessions: s.hub.sessions.countBy(),
        sessionConnections: s.pool.openCount,
        conflicts: catalog.conflicts,
        // A refused reload keeps the last good set in force: `stale` says why and since when.
        policy: {
          rules: policy.engine.ruleIds.length,
          files: policy.engine.files.length,
          generation: policy.generation,
          ...(policy.stale ? { stale: policy.stale } : {}),
        },
        profiles: Object.values(config.gateway.profiles).map((p) => ({
          name: p.name,
          path: p.path,
          enabled: p.enabled,
          servers: p.servers ?? 'all',
          disclosure: p.disclosure,
        })),
      },
    };
  };
}

function upstreamState(u: Upstream, counts: Record<string, number> | undefined) {
  return {
    state: u.state,
    transport: u.config.spec.type,
    wire: u.wire,
    restarts: u.restarts,
    error: u.state === 'ready' ? undefined : u.errorClass,
    ...counts,
  };
}

function stateOnly<T extends { error?: string }>(health: T): Omit<T, 'error'> {
  const { error: _logged, ...state } = health;
  return state;
}
