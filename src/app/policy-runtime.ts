/**
 * The policy in force, and its hot reload. Editing, adding or deleting a
 * policy file (or a Kubernetes ConfigMap swapping its `..data` symlink) takes
 * effect within a second without dropping sessions; SIGHUP reloads too.
 *
 * Fail closed: a reload that cannot be trusted keeps the last good policy
 * set, says why (`warn`), counts it and shows it in /readyz. Untrusted are a
 * broken edit (invalid or empty file), a directory that is gone or holds no
 * policy file any more (an `rm -rf && cp` deploy caught halfway, an unmounted
 * volume), and, on a file change, a set that lost a file. An operator who
 * removed a file on purpose confirms with SIGHUP (or a restart); a set meant
 * to have no rules says so with a file of `rules: []`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/schema/index.js';
import { canonicalHash } from '../infra/canonical.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import { PolicyEngine } from '../policy/engine.js';
import { loadPolicyDir, type KnownNames } from '../policy/load.js';
import { ReloadTrigger } from './reload-trigger.js';

export type ReloadRefusal = 'invalid' | 'no-files' | 'lost-files';

/** The last reload that was refused, while the set in force is older than the files (for /readyz). */
export interface StalePolicy {
  reason: ReloadRefusal;
  since: string;
  /** Files named by the refusal (lost ones, or those with issues); never their content. */
  files: string[];
}

export class PolicyRuntime {
  private current: PolicyEngine;
  private readonly trigger: ReloadTrigger;
  /** Increments on every successful reload (tests and status read it). */
  generation = 0;
  /** Set while a refused reload leaves the policy in force behind its files. */
  stale?: StalePolicy;
  /** When the last reload was applied. */
  reloadedAt?: string;
  /** SHA-256 over the policy files in force (names and contents): what every audit record names. */
  version = '';

  /** Loads the policy once; a broken policy set throws, so the gateway never starts half-configured. */
  constructor(
    private config: LoadedConfig,
    private readonly log: Logger,
    private readonly onRefused: (reason: ReloadRefusal) => void = () => {},
  ) {
    this.trigger = new ReloadTrigger((why) => this.reload(why), log);
    this.current = this.load();
    this.version = versionOf(this.current.files);
    this.logWarnings();
  }

  get engine(): PolicyEngine {
    return this.current;
  }

  get dir(): string | false {
    return this.config.gateway.policies;
  }

  /**
   * Re-reads the directory; keeps the policy in force if the result cannot
   * be trusted. `why` is 'SIGHUP', 'config change' or 'file change'; only a
   * file change refuses a set that lost a file. Returns whether it took.
   */
  reload(why: string): boolean {
    let next: PolicyEngine;
    try {
      next = this.load();
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : [{ file: String(this.dir), path: '', message: String(err) }];
      return this.refuse(
        'invalid',
        why,
        issues.map((i) => i.file),
        { issues },
      );
    }
    const lost = this.current.files.filter((f) => !next.files.includes(f));
    if (next.files.length === 0 && this.current.files.length > 0) {
      return this.refuse('no-files', why, lost, { fix: 'restore the policy files; to run with no rules, leave one file that says "rules: []"' });
    }
    if (lost.length > 0 && why === 'file change') {
      return this.refuse('lost-files', why, lost, { fix: 'if the files were removed on purpose, send SIGHUP (or restart) to apply the smaller set' });
    }
    this.current = next;
    this.version = versionOf(next.files);
    this.generation++;
    this.reloadedAt = new Date().toISOString();
    this.stale = undefined;
    this.log.info('policies reloaded', { why, dir: this.dir, rules: next.ruleIds.length, ...(lost.length > 0 ? { removedFiles: lost } : {}) });
    this.logWarnings();
    return true;
  }

  /** The configuration changed (its policy directory, default effect, trusted or known servers): reload under it. */
  useConfig(next: LoadedConfig): boolean {
    const previous = this.config;
    this.config = next;
    if (next.gateway.policies !== previous.gateway.policies) this.trigger.rewatch(this.dir || undefined);
    return this.reload('config change');
  }

  /** Watches the policy directory and listens for SIGHUP. */
  watch(): void {
    // Without a policy directory, SIGHUP still reloads (the config may have gained one).
    this.trigger.start(this.dir || undefined);
  }

  close(): void {
    this.trigger.close();
  }

  private refuse(reason: ReloadRefusal, why: string, files: string[], detail: Record<string, unknown>): false {
    this.stale = { reason, since: new Date().toISOString(), files };
    this.onRefused(reason);
    this.log.warn('policy reload refused; keeping the last good policy set', { why, reason, dir: this.dir, files, ...detail });
    return false;
  }

  private logWarnings(): void {
    for (const w of this.current.warnings) this.log.warn(`policy: ${w.message}`, { file: w.file, at: w.path, fix: w.fix });
  }

  private load(): PolicyEngine {
    return createPolicyEngine(this.config);
  }
}

/**
 * The names policies may refer to: every server the config lists (enabled,
 * disabled or not yet configured) and, when no JWT issuer can bring groups
 * of its own, every group of the API keys and the stdio principal.
 */
export function knownNames(config: LoadedConfig): KnownNames {
  const servers = new Set([...config.servers.map((s) => s.name), ...config.skipped.map((s) => s.name)]);
  const { auth, stdioPrincipal } = config.gateway;
  if (auth.jwt) return { servers };
  return { servers, groups: new Set([...auth.apiKeys.flatMap((k) => k.groups), ...stdioPrincipal.groups]) };
}

/** The engine for a config: its policy directory, its default effect, and the servers it trusts. */
export function createPolicyEngine(config: LoadedConfig): PolicyEngine {
  return new PolicyEngine(loadPolicyDir(config.gateway.policies, knownNames(config)), {
    defaultEffect: config.gateway.defaultEffect,
    // gateway.servers.<name>.trustAnnotations says what a policy file's trustAnnotations says.
    trustedServers: config.servers.filter((s) => s.trustAnnotations).map((s) => s.name),
  });
}

/** The policy set's version: a hash over its files' names and contents (a file unreadable now counts as empty). */
function versionOf(files: readonly string[]): string {
  return canonicalHash(
    files.map((file) => {
      try {
        return [path.basename(file), readFileSync(file, 'utf8')];
      } catch {
        return [path.basename(file), ''];
      }
    }),
  );
}
