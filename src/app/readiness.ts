/**
 * The body of `/readyz`: state only. An upstream's error is a class, the
 * rate-limit store's health has no error text, and a policy set that a
 * refused reload left in force says so (`policy.stale`). Messages, which can
 * quote a crashed child's stderr or name hosts, go to the log.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { AuditHealth } from '../observability/audit.js';
import type { LoadedConfig } from '../config/schema/index.js';
import type { Hub } from '../session/hub.js';
import type { Upstream } from '../upstream/server.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { ConfigRuntime } from './config-runtime.js';
import type { ContractRuntime } from './contract-runtime.js';
import type { PolicyRuntime } from './policy-runtime.js';

export interface ReadinessSources {
  stopped: () => boolean;
  config: () => LoadedConfig;
  upstreams: readonly Upstream[];
  catalog: Catalog;
  hub: Hub;
  pool: ConnectionPool;
  policy: PolicyRuntime;
  contracts: ContractRuntime;
  configRuntime: ConfigRuntime;
  rateLimitHealth: () => { error?: string };
  /** The users' credential store, when gateway.credentials is set. */
  credentialHealth?: () => { type: string; state: string };
  /** Whether the audit sink keeps up and can write (its error as a class only). */
  auditHealth: () => AuditHealth;
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
        ...(s.credentialHealth ? { credentialStore: s.credentialHealth() } : {}),
        // A sink that falls behind or cannot write holds records back: counted, and written as a gap later.
        audit: s.auditHealth(),
        ready: enabled.filter((u) => u.state === 'ready').length,
        total: enabled.length,
        sessions: s.hub.sessions.countBy(),
        sessionConnections: s.pool.openCount,
        conflicts: catalog.conflicts,
        config: configState(s.configRuntime),
        // A refused reload keeps the last good set in force: `stale` says why and since when.
        policy: {
          rules: policy.engine.ruleIds.length,
          files: policy.engine.files.length,
          generation: policy.generation,
          version: policy.version,
          ...(policy.reloadedAt ? { reloadedAt: policy.reloadedAt } : {}),
          ...(policy.stale ? { stale: policy.stale } : {}),
        },
        ...(s.contracts.guard ? { contracts: contractState(catalog, s.contracts) } : {}),
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

/** The configuration file's reloads: how many were applied, the last one, and a refused one still unresolved. */
function configState(c: ConfigRuntime) {
  return { generation: c.generation, ...(c.reloadedAt ? { reloadedAt: c.reloadedAt } : {}), ...(c.refused ? { refused: c.refused } : {}) };
}

function upstreamState(u: Upstream, counts: Record<string, number> | undefined) {
  return {
    state: u.state,
    since: new Date(u.stateSince).toISOString(),
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

/** Pinning at a glance: the lock in force, what is held back and why (names and fields, never descriptions). */
function contractState(catalog: Catalog, contracts: ContractRuntime) {
  const quarantined = catalog.quarantinedEntries().map((q) => ({
    server: q.verdict.server,
    kind: q.verdict.kind,
    name: q.verdict.name,
    exposed: q.exposed,
    reason: q.verdict.quarantine?.reason,
    drifted: q.verdict.drifted,
  }));
  const removed = catalog.review?.removed.map((r) => ({ server: r.server, kind: r.kind, name: r.name })) ?? [];
  return {
    lock: contracts.lockFile,
    pinned: contracts.pinnedEntries,
    generation: contracts.generation,
    quarantined,
    removed,
    ...(contracts.stale ? { stale: contracts.stale } : {}),
  };
}
