/**
 * The configuration file's hot reload. Editing the file, or Kubernetes
 * swapping a ConfigMap mount's `..data` symlink, or SIGHUP re-reads it; a
 * valid file is handed to the gateway to apply, a broken one is reported
 * (file, JSON path, fix) and the configuration in force stays.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfigFile } from '../config/load.js';
import type { LoadedConfig } from '../config/schema/index.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import { ReloadTrigger } from './reload-trigger.js';

export class ConfigRuntime {
  private readonly trigger: ReloadTrigger;
  /** Increments on every reload that was applied (tests and status read it). */
  generation = 0;
  /** When the last reload was applied. */
  reloadedAt?: string;
  /** The last reload that was refused, until one is applied: when, and how many issues (never their text, which can quote values). */
  refused?: { since: string; issues: number };

  constructor(
    private readonly file: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
    /** Applies a valid configuration. */
    private readonly apply: (next: LoadedConfig) => Promise<void>,
  ) {
    this.trigger = new ReloadTrigger((why) => this.reload(why), log);
  }

  /** Whether there is a file to watch (an inline or generated configuration has none). */
  static watchable(file: string): boolean {
    return path.isAbsolute(file) && existsSync(file);
  }

  /** Re-reads the file; on error keeps the configuration in force. Returns whether it was applied. Reloads run one at a time. */
  reload(why: string): Promise<boolean> {
    const run = this.queue.then(() => this.reloadNow(why));
    this.queue = run.catch(() => false);
    return run;
  }

  private queue: Promise<unknown> = Promise.resolve();

  private async reloadNow(why: string): Promise<boolean> {
    let next: LoadedConfig;
    try {
      next = loadConfigFile(this.file, this.env);
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : String(err);
      this.log.error('config reload failed; keeping the configuration in force', { why, file: this.file, issues });
      this.refused = { since: new Date().toISOString(), issues: Array.isArray(issues) ? issues.length : 1 };
      return false;
    }
    await this.apply(next);
    this.generation++;
    this.reloadedAt = new Date().toISOString();
    this.refused = undefined;
    return true;
  }

  /** Watches the file's folder (editors replace files; Kubernetes swaps a symlink there) and listens for SIGHUP. */
  watch(): void {
    const name = path.basename(this.file);
    this.trigger.start(path.dirname(this.file), (changed) => changed === null || changed === name || changed.startsWith('..'));
  }

  close(): void {
    this.trigger.close();
  }
}
