/**
 * The policy in force, and its hot reload. Editing, adding or deleting a
 * policy file (or a Kubernetes ConfigMap swapping its `..data` symlink) takes
 * effect within a second without dropping sessions; SIGHUP reloads too. A bad
 * edit keeps the last good policy set and logs exactly why.
 */
import type { LoadedConfig } from './config/schema.js';
import { ConfigError } from './errors.js';
import type { Logger } from './observability/log.js';
import { PolicyEngine } from './policy/engine.js';
import { loadPolicyDir } from './policy/load.js';
import { ReloadTrigger } from './reload-trigger.js';

export class PolicyRuntime {
  private current: PolicyEngine;
  private readonly trigger: ReloadTrigger;
  /** Increments on every successful reload (tests and status read it). */
  generation = 0;

  /** Loads the policy once; a broken policy set throws, so the gateway never starts half-configured. */
  constructor(
    private config: LoadedConfig,
    private readonly log: Logger,
  ) {
    this.trigger = new ReloadTrigger((why) => this.reload(why), log);
    this.current = this.load();
  }

  get engine(): PolicyEngine {
    return this.current;
  }

  get dir(): string {
    return this.config.gateway.policies;
  }

  /** Re-reads the directory; on error keeps the policy in force. Returns whether it took. */
  reload(why: string): boolean {
    try {
      this.current = this.load();
      this.generation++;
      this.log.info('policies reloaded', { why, dir: this.dir, rules: this.current.ruleIds.length });
      return true;
    } catch (err) {
      const detail = err instanceof ConfigError ? err.issues : String(err);
      this.log.error('policy reload failed; keeping the last good policy set', { why, dir: this.dir, issues: detail });
      return false;
    }
  }

  /** The configuration changed (its policy directory, default effect or trusted servers): reload under it. */
  useConfig(next: LoadedConfig): boolean {
    const previous = this.config;
    this.config = next;
    if (next.gateway.policies !== previous.gateway.policies) this.trigger.rewatch(this.dir);
    return this.reload('config change');
  }

  /** Watches the policy directory and listens for SIGHUP. */
  watch(): void {
    this.trigger.start(this.dir);
  }

  close(): void {
    this.trigger.close();
  }

  private load(): PolicyEngine {
    return createPolicyEngine(this.config);
  }
}

/** The engine for a config: its policy directory, its default effect, and the servers it trusts. */
export function createPolicyEngine(config: LoadedConfig): PolicyEngine {
  return new PolicyEngine(loadPolicyDir(config.gateway.policies), {
    defaultEffect: config.gateway.defaultEffect,
    // gateway.servers.<name>.trustAnnotations says what a policy file's trustAnnotations says.
    trustedServers: config.servers.filter((s) => s.trustAnnotations).map((s) => s.name),
  });
}
