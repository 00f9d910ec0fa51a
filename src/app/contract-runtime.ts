/**
 * Tool contracts at run time: the lock in force and its hot reload, the guard
 * the catalog consults on every rebuild, and where drift and findings are
 * reported (log, audit trail, metrics). Like policies, a lock that cannot be
 * trusted on reload (unreadable, invalid, hand-edited, gone) leaves the last
 * good one in force, said in /readyz; with pinning on and no lock at start,
 * nothing is approved, so `enforce` quarantines every entry.
 */
import path from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import type { LoadedConfig } from '../config/schema/index.js';
import { ConfigError } from '../core/errors.js';
import { ContractGuard, type ContractEvent, type ContractReview } from '../contracts/guard.js';
import { countEntries, readLock, type Lock } from '../contracts/lock.js';
import type { AuditSink } from '../observability/audit.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { Hub } from '../session/hub.js';
import type { Upstream } from '../upstream/server.js';
import { ReloadTrigger } from './reload-trigger.js';

export interface ContractReporting {
  log: Logger;
  audit: AuditSink;
  metrics: () => Metrics;
  /** The catalog and the sessions learn of a new lock (rebuild, list_changed). */
  changed: () => void;
}

export class ContractRuntime {
  readonly guard?: ContractGuard;
  /** Increments on every lock reload that took. */
  generation = 0;
  /** Set while a refused reload leaves an older lock in force. */
  stale?: { since: string; reason: string };
  private lock?: Lock;
  private readonly trigger: ReloadTrigger;
  private readonly file: string;

  /** Reads the lock once: an invalid lock stops the gateway before it starts. */
  constructor(
    config: LoadedConfig,
    private readonly reporting: ContractReporting,
  ) {
    const { gateway } = config;
    this.file = gateway.pinning.lock;
    this.trigger = new ReloadTrigger((why) => this.reload(why), reporting.log);
    if (!contractsChecked(config)) return;
    if (pinningOn(config)) {
      this.lock = readLock(this.file);
      if (!this.lock) reporting.log.warn('pinning is on but there is no lock: nothing is approved', { lock: this.file, fix: 'run `switchboard pin`' });
    }
    this.guard = new ContractGuard({ scan: gateway.scan, validateArguments: gateway.validateArguments }, this.lock, (e) => this.report(e));
  }

  get pinnedEntries(): number {
    return this.lock ? countEntries(this.lock) : 0;
  }

  get lockFile(): string | undefined {
    return this.guard ? this.file : undefined;
  }

  /** Watches the lock's folder (a ConfigMap's `..data` swap included) and listens for SIGHUP. */
  watch(): void {
    if (!this.guard) return;
    const name = path.basename(this.file);
    this.trigger.start(path.dirname(this.file), (changed) => changed === null || changed === name || changed === '..data');
  }

  close(): void {
    this.trigger.close();
  }

  /** Re-reads the lock; keeps the one in force if the new one cannot be trusted. Returns whether it took. */
  reload(why: string): boolean {
    if (!this.guard) return false;
    let next: Lock | undefined;
    try {
      next = readLock(this.file);
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : [{ file: this.file, path: '', message: String(err) }];
      return this.refuse(why, 'invalid', { issues });
    }
    if (!next && this.lock) return this.refuse(why, 'missing', { fix: 'restore the lock; pinning without one approves nothing' });
    this.lock = next;
    this.guard.update(next);
    this.generation++;
    this.stale = undefined;
    this.reporting.log.info('contract lock reloaded', { why, lock: this.file, entries: this.pinnedEntries });
    this.reporting.changed();
    return true;
  }

  private refuse(why: string, reason: string, detail: Record<string, unknown>): false {
    this.stale = { since: new Date().toISOString(), reason };
    this.reporting.log.warn('contract lock reload refused; keeping the lock in force', { why, reason, lock: this.file, ...detail });
    return false;
  }

  /** Each drift and finding once: a warning in the log, a record in the audit trail, a count. */
  private report(event: ContractEvent): void {
    const { log, audit, metrics } = this.reporting;
    const { type: what, ...detail } = event;
    audit.writeEvent({ type: 'contract', time: new Date().toISOString(), event: what, ...detail });
    if (event.type === 'drift') {
      metrics().contractDrift(event.server, event.drift);
      log.warn(`contract drift: ${event.kind} ${event.drift}`, detail);
    } else {
      const f = event.finding;
      metrics().contractFinding(f.server, f.detector, f.severity);
      log.warn(`contract lint: ${f.message}`, {
        server: f.server,
        kind: f.kind,
        name: f.name,
        detector: f.detector,
        severity: f.severity,
        field: f.field,
        action: event.action,
      });
    }
  }
}

/** Whether any server's contracts are pinned, or the lint or argument validation is on. */
export function contractsChecked(config: LoadedConfig): boolean {
  return pinningOn(config) || config.gateway.scan.mode !== 'off' || config.gateway.validateArguments !== 'off';
}

function pinningOn(config: LoadedConfig): boolean {
  return config.gateway.pinning.mode !== 'off' || config.servers.some((s) => s.pinning.mode !== 'off');
}

/** A new lock: every entry is judged again, and sessions hear that lists changed. */
export function contractsChanged(catalog: Catalog, hub: Hub, upstreams: readonly Upstream[]): void {
  catalog.rebuild();
  for (const u of upstreams) hub.listsChanged(['tools', 'prompts', 'resourceTemplates'], u.name);
}

export function quarantinedByServer(catalog: Catalog): Record<string, number> {
  const out: Record<string, number> = {};
  for (const q of catalog.quarantinedEntries()) out[q.upstream.name] = (out[q.upstream.name] ?? 0) + 1;
  return out;
}

/** How one caller's lists of a server that acts as each caller are judged. */
export function personalContracts(guard: ContractGuard): (upstream: Upstream, lists: Upstream['lists']) => ContractReview {
  return (upstream, lists) => guard.judgeAlone([{ server: upstream.name, pinning: upstream.config.pinning, lists }]);
}
