/**
 * A 2026-07-28 upstream has no `resources/subscribe` and no unsolicited
 * stream: change notifications arrive on a `subscriptions/listen` stream
 * whose filter names what to watch. The gateway keeps one such stream per
 * modern upstream, re-opened whenever the set of watched resources changes,
 * and answers its clients' subscribe/unsubscribe itself. Notifications on
 * it reach the client's ordinary notification handlers (connection.ts; the
 * list changes are coalesced in lists.ts). Re-opens are coalesced too: a burst of
 * subscribes costs two stream swaps, not one each.
 */
import type { Client, McpSubscription, ServerCapabilities } from '@modelcontextprotocol/client';
import type { Logger } from '../observability/log.js';

export class ModernListener {
  private readonly watched = new Set<string>();
  private current?: McpSubscription;
  /** The swap in progress, and the one queued behind it (at most one: it reads the filter when it starts). */
  private running?: Promise<void>;
  private queued?: Promise<void>;
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly capabilities: ServerCapabilities,
    private readonly log: Logger,
  ) {}

  /** Opens the stream for list changes (and any resources already watched). */
  start(): Promise<void> {
    return this.relisten();
  }

  subscribe(uri: string): Promise<void> {
    if (this.watched.has(uri)) return Promise.resolve();
    this.watched.add(uri);
    return this.relisten();
  }

  unsubscribe(uri: string): Promise<void> {
    if (!this.watched.delete(uri)) return Promise.resolve();
    return this.relisten();
  }

  async close(): Promise<void> {
    this.closed = true;
    await (this.queued ?? this.running);
    await this.current?.close().catch(() => {});
  }

  /**
   * One re-listen at a time, and at most one waiting: a change asked for
   * while one waits is carried by it, since it reads the filter only when it
   * starts. The last filter asked for is the one in force, and each caller
   * resolves once a swap that includes its change is done.
   */
  private relisten(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return (this.running = this.swap());
    this.queued = this.running.then(() => {
      this.queued = undefined;
      return (this.running = this.swap());
    });
    return this.queued;
  }

  private swap(): Promise<void> {
    const run: Promise<void> = this.replaceStream()
      .catch((err: unknown) => {
        this.log.warn('subscriptions/listen failed', { error: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => {
        if (this.running === run) this.running = undefined;
      });
    return run;
  }

  private async replaceStream(): Promise<void> {
    if (this.closed) return;
    const filter = this.filter();
    const previous = this.current;
    this.current = Object.keys(filter).length > 0 ? await this.client.listen(filter) : undefined;
    // Close the old stream only once the new one is acknowledged: no gap in which a change is missed.
    await previous?.close().catch(() => {});
  }

  private filter(): Record<string, unknown> {
    const caps = this.capabilities;
    const filter: Record<string, unknown> = {};
    if (caps.tools?.listChanged) filter.toolsListChanged = true;
    if (caps.prompts?.listChanged) filter.promptsListChanged = true;
    if (caps.resources?.listChanged) filter.resourcesListChanged = true;
    if (caps.resources?.subscribe && this.watched.size > 0) filter.resourceSubscriptions = [...this.watched];
    return filter;
  }
}
