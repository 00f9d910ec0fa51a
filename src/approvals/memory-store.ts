/**
 * Approvals in this process: pending ones in a bounded map (a caller holds
 * at most a few; the gateway at most MAX_PENDING), remembered grants in an
 * LRU with their own expiry. A decision wakes the call waiting on it.
 */
import { LRUCache } from 'lru-cache';
import type { ApprovalDecision, ApprovalStore, PendingApproval } from './types.js';

export const MAX_PENDING = 1_000;
export const MAX_PENDING_PER_PRINCIPAL = 10;
const MAX_REMEMBERED = 10_000;

export class ApprovalStoreFull extends Error {}

export class MemoryApprovalStore implements ApprovalStore {
  private readonly pendingById = new Map<string, PendingApproval>();
  private readonly decisions = new Map<string, ApprovalDecision>();
  private readonly waiters = new Map<string, Set<(d: ApprovalDecision) => void>>();
  private readonly grants = new LRUCache<string, ApprovalDecision>({ max: MAX_REMEMBERED, ttlAutopurge: false });

  constructor(private readonly now: () => number = Date.now) {}

  async open(approval: PendingApproval): Promise<void> {
    this.sweep();
    const mine = [...this.pendingById.values()].filter((a) => a.principal === approval.principal).length;
    if (this.pendingById.size >= MAX_PENDING || mine >= MAX_PENDING_PER_PRINCIPAL) {
      throw new ApprovalStoreFull(
        mine >= MAX_PENDING_PER_PRINCIPAL ? 'this caller has too many calls waiting for approval' : 'too many calls wait for approval',
      );
    }
    this.pendingById.set(approval.id, approval);
  }

  async get(id: string): Promise<PendingApproval | undefined> {
    this.sweep();
    return this.pendingById.get(id);
  }

  async pending(): Promise<PendingApproval[]> {
    this.sweep();
    return [...this.pendingById.values()].filter((a) => !this.decisions.has(a.id)).sort((a, b) => a.createdAt - b.createdAt);
  }

  async decide(id: string, decision: ApprovalDecision): Promise<boolean> {
    this.sweep();
    if (!this.pendingById.has(id) || this.decisions.has(id)) return false;
    this.decisions.set(id, decision);
    for (const wake of this.waiters.get(id) ?? []) wake(decision);
    return true;
  }

  wait(id: string, timeoutMs: number, signal: AbortSignal): Promise<ApprovalDecision | undefined> {
    const decided = this.decisions.get(id);
    if (decided) return Promise.resolve(this.finish(id, decided));
    return new Promise((resolve) => {
      const done = (decision: ApprovalDecision | undefined) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters.get(id)?.delete(wake);
        resolve(this.finish(id, decision));
      };
      const wake = (decision: ApprovalDecision) => done(decision);
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      if (signal.aborted) return done(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      set.add(wake);
    });
  }

  async close(id: string): Promise<void> {
    this.finish(id, undefined);
  }

  async remember(key: string, decision: ApprovalDecision, ttlMs: number): Promise<void> {
    this.grants.set(key, decision, { ttl: ttlMs });
  }

  async remembered(key: string): Promise<ApprovalDecision | undefined> {
    return this.grants.get(key);
  }

  async take(key: string): Promise<ApprovalDecision | undefined> {
    const decision = this.grants.get(key);
    this.grants.delete(key);
    return decision;
  }

  health() {
    return { type: 'memory' as const, state: 'up' as const };
  }

  async shutdown(): Promise<void> {}

  private finish(id: string, decision: ApprovalDecision | undefined): ApprovalDecision | undefined {
    this.pendingById.delete(id);
    this.decisions.delete(id);
    if (this.waiters.get(id)?.size === 0) this.waiters.delete(id);
    return decision;
  }

  /** Expired approvals leave (their waiting calls time out on their own timers). */
  private sweep(): void {
    const now = this.now();
    for (const [id, a] of this.pendingById) if (a.expiresAt <= now && !this.decisions.has(id)) this.pendingById.delete(id);
  }
}
