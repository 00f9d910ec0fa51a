/**
 * What makes a file-backed setting reload: SIGHUP, and changes in a watched
 * folder, debounced (editors write in several steps; Kubernetes swaps a
 * ConfigMap's `..data` symlink in one rename). Shared by the policy and the
 * config hot reload.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../observability/log.js';

const DEBOUNCE_MS = 150;

export class ReloadTrigger {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private started = false;
  private readonly onHangup = () => this.fire('SIGHUP');

  constructor(
    private readonly fire: (why: string) => unknown,
    private readonly log: Logger,
  ) {}

  /** Listens for SIGHUP and watches `dir` (none: SIGHUP only); `relevant` filters the names of changed entries. */
  start(dir: string | undefined, relevant: (name: string | null) => boolean = () => true): void {
    process.on('SIGHUP', this.onHangup);
    this.started = true;
    if (dir !== undefined) this.watchDir(dir, relevant);
  }

  /** Watches another folder instead (its setting changed). */
  rewatch(dir: string | undefined, relevant: (name: string | null) => boolean = () => true): void {
    if (!this.started) return;
    this.watcher?.close();
    this.watcher = undefined;
    if (dir !== undefined) this.watchDir(dir, relevant);
  }

  close(): void {
    process.off('SIGHUP', this.onHangup);
    this.started = false;
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private watchDir(dir: string, relevant: (name: string | null) => boolean): void {
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (relevant(name)) this.schedule();
      });
      this.watcher.on('error', (err) => this.log.warn('watch failed; SIGHUP still reloads', { dir, error: String(err) }));
    } catch (err) {
      // No folder yet: nothing to watch, SIGHUP still works.
      this.watcher = undefined;
      this.log.debug('not watched; SIGHUP still reloads', { dir, error: String(err) });
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire('file change'), DEBOUNCE_MS);
    this.timer.unref();
  }
}
