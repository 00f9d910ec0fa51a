/**
 * Applies a reloaded configuration without dropping sessions: servers added,
 * removed or changed are started, stopped or restarted (the others keep
 * their connections), authentication and policies switch over; any other
 * change is named as needing a restart.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { LoadedConfig, ServerConfig } from '../config/schema/index.js';
import { revokedBy } from '../auth/revoked.js';
import type { Logger } from '../observability/log.js';
import type { Hub } from '../session/hub.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/server.js';
import type { GatewayIdentity } from './identity.js';
import type { PolicyRuntime } from './policy-runtime.js';

/** What a reload applies at once; every other gateway key needs a restart. */
const RELOADABLE_GATEWAY_KEYS = new Set(['auth', 'policies', 'defaultEffect', 'servers']);

export interface ReloadTargets {
  /** The gateway's upstreams, replaced in place (everyone holds this array). */
  upstreams: Upstream[];
  /** A new upstream for a server, wired to the catalog and sessions. */
  createUpstream: (server: ServerConfig) => Upstream;
  pool: ConnectionPool;
  catalog: Catalog;
  hub: Hub;
  policy: PolicyRuntime;
  identity: GatewayIdentity;
  log: Logger;
}

export class Reload {
  private current: LoadedConfig;

  constructor(
    initial: LoadedConfig,
    private readonly targets: ReloadTargets,
  ) {
    this.current = initial;
  }

  /** The configuration in force. */
  get config(): LoadedConfig {
    return this.current;
  }

  readonly apply = async (next: LoadedConfig): Promise<void> => {
    const restartNeeded = changedGatewayKeys(this.current.gateway, next.gateway).filter((k) => !RELOADABLE_GATEWAY_KEYS.has(k));
    const changes = await this.replaceServers(next, restartNeeded);
    if (JSON.stringify(this.current.gateway.auth) !== JSON.stringify(next.gateway.auth)) {
      this.switchAuth(next);
      changes.push('gateway.auth');
    }
    if (policyInputs(this.current) !== policyInputs(next)) {
      this.targets.policy.useConfig(next);
      changes.push('policies');
    }
    const settings = this.current.gateway;
    this.current = { ...next, gateway: { ...settings, auth: next.gateway.auth, policies: next.gateway.policies, defaultEffect: next.gateway.defaultEffect } };
    this.targets.log.info('config reloaded', { changes, ...(restartNeeded.length > 0 ? { restartNeeded } : {}) });
    if (restartNeeded.length > 0) this.targets.log.warn('some configuration changes take effect only after a restart', { keys: restartNeeded });
  };

  private async replaceServers(next: LoadedConfig, restartNeeded: string[]): Promise<string[]> {
    const { upstreams, pool, catalog, hub } = this.targets;
    const before = new Map(upstreams.map((u) => [u.name, u]));
    const changes: string[] = [];
    const retired: Upstream[] = [];
    const ordered = next.servers.map((server) => {
      const existing = before.get(server.name);
      if (existing && JSON.stringify(existing.config) === JSON.stringify(server)) return existing;
      if (server.credentials !== 'static' || existing?.perCaller) restartNeeded.push(`mcpServers.${server.name} (credentials)`);
      if (existing) retired.push(existing);
      changes.push(`${existing ? 'restarted' : 'added'} ${server.name}`);
      return this.targets.createUpstream(server);
    });
    for (const [name, u] of before) {
      if (next.servers.some((s) => s.name === name)) continue;
      retired.push(u);
      changes.push(`removed ${name}`);
    }
    upstreams.splice(0, upstreams.length, ...ordered);
    for (const u of retired) {
      pool.dropServer(u.name);
      await u.stop();
    }
    for (const u of ordered) if (!before.has(u.name) || retired.includes(before.get(u.name)!)) u.start();
    catalog.rebuild();
    for (const change of changes) hub.listsChanged(['tools', 'prompts', 'resources', 'resourceTemplates'], change.split(' ')[1]!);
    return changes;
  }

  private switchAuth(next: LoadedConfig): void {
    this.targets.identity.useAuth(next.gateway.auth);
    // Sessions opened with a credential that no longer works end now, not at their idle timeout.
    const revoked = revokedBy(this.current.gateway.auth, next.gateway.auth);
    for (const session of this.targets.hub.sessions.all()) if (revoked(session.principal)) void session.close();
  }
}

function changedGatewayKeys(a: LoadedConfig['gateway'], b: LoadedConfig['gateway']): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const value = (settings: LoadedConfig['gateway'], key: string) => JSON.stringify((settings as unknown as Record<string, unknown>)[key]);
  return [...keys].filter((k) => value(a, k) !== value(b, k));
}

/** What the policy set is built from: a change in any of it rebuilds the policy. */
function policyInputs(c: LoadedConfig): string {
  return JSON.stringify([c.gateway.policies, c.gateway.defaultEffect, c.servers.map((s) => [s.name, s.trustAnnotations]), c.skipped.map((s) => s.name)]);
}
