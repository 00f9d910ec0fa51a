/** Counts forwarded requests in flight, so shutdown can wait for them. */
import type { Pipeline } from '../pipeline/index.js';
import type { SessionRegistry } from '../session/registry.js';

export class InFlight {
  count = 0;
  private waiters: (() => void)[] = [];

  /**
   * `sessions` also hears of each call, so that a session with one in flight
   * counts as busy: never closed for a new session or by the idle sweep, and
   * its child processes never reclaimed.
   */
  track(pipeline: Pipeline, sessions: () => Pick<SessionRegistry, 'callStarted' | 'callEnded'>): Pipeline {
    return async (ctx) => {
      this.count++;
      const registry = sessions();
      registry.callStarted(ctx.session.id);
      try {
        return await pipeline(ctx);
      } finally {
        registry.callEnded(ctx.session.id);
        if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
      }
    };
  }

  drained(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
