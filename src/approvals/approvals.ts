/**
 * The approvals a gateway asks for and decides: opening one for a call
 * (bound to the digest of exactly what would be forwarded), announcing it to
 * other approvers, deciding it (who may, through which channel), waiting for
 * the decision, and the grants a yes leaves behind (remembered identical
 * calls; the single-use grant a detached approval keeps for the caller's
 * retry). Every step is reported through `ApprovalEvents` (audit, metrics).
 */
import { randomBytes } from 'node:crypto';
import { canonicalHash } from '../infra/canonical.js';
import type { Remember } from '../policy/types.js';
import { mayDecide, needsOthers, type Decider, type MayDecide } from './approvers.js';
import type { ApprovalChannel, ApprovalDecision, ApprovalStore, PendingApproval } from './types.js';

export interface ApprovalEvents {
  requested(approval: PendingApproval): void;
  decided(approval: PendingApproval, decision: ApprovalDecision): void;
  expired(approval: PendingApproval): void;
  /** A call stopped waiting on its approval (decided, expired or given up). */
  settled(approval: PendingApproval): void;
  /** A remembered or single-use yes covered a call on `server`. */
  remembered(server: string): void;
}

export interface ApprovalsOptions {
  store: ApprovalStore;
  /** The gateway's public base URL: approval links start with it. */
  publicUrl: () => string;
  /** Whether an approval page link can work (false for a --stdio gateway without gateway.publicUrl). */
  linkable?: () => boolean;
  events: ApprovalEvents;
  /** Tells other approvers that a call waits for them (the webhook), when configured. */
  announce?: (approval: PendingApproval, link: string) => void;
  replicaId?: string;
  now?: () => number;
}

/** What a call asks approval for: the request as forwarded and the rule's requirement. */
export interface ApprovalAsk {
  principal: string;
  sessionId: string;
  server: string;
  tool: string;
  exposed: string;
  arguments: Record<string, unknown>;
  /** The arguments as approvers may see them (redacted); default: all of them. */
  shown?: Record<string, unknown>;
  policyVersion: string;
  ruleId: string;
  approvers: PendingApproval['approvers'];
  message: string;
  timeoutMs: number;
  requestId?: string;
  detached?: boolean;
}

export type DecideResult = { ok: true; approval: PendingApproval } | { ok: false; status: 403 | 404 | 409; why: string };

export class Approvals {
  private readonly now: () => number;

  constructor(private readonly options: ApprovalsOptions) {
    this.now = options.now ?? Date.now;
  }

  get store(): ApprovalStore {
    return this.options.store;
  }

  /** The digest an approval binds: who, where, which tool, exactly which arguments, under which policy. */
  digestOf(ask: Pick<ApprovalAsk, 'principal' | 'server' | 'tool' | 'arguments' | 'policyVersion'>): string {
    return canonicalHash({ arguments: ask.arguments, policyVersion: ask.policyVersion, principal: ask.principal, server: ask.server, tool: ask.tool });
  }

  /** Whether the approval page can be linked to at all. */
  get linkable(): boolean {
    return this.options.linkable?.() ?? true;
  }

  link(id: string): string {
    return `${this.options.publicUrl()}/approvals/${id}`;
  }

  /** A grant that covers this call already: remembered for the session or a while, or the single-use one a detached yes left. */
  async grantFor(ask: ApprovalAsk, remember: Remember): Promise<ApprovalDecision | undefined> {
    const digest = this.digestOf(ask);
    const key = rememberKey(remember, ask.sessionId, digest);
    const grant = (await this.store.take(onceKey(digest))) ?? (key ? await this.store.remembered(key) : undefined);
    if (grant) this.options.events.remembered(ask.server);
    return grant;
  }

  /** Opens a pending approval (throws the store's ApprovalStoreFull past its bounds), reports it, and announces it to others. */
  async open(ask: ApprovalAsk): Promise<PendingApproval> {
    const createdAt = this.now();
    const approval: PendingApproval = {
      id: randomBytes(24).toString('base64url'),
      principal: ask.principal,
      server: ask.server,
      tool: ask.tool,
      exposed: ask.exposed,
      // What approvers are shown (the audit's redaction applied); the digest is over the real arguments.
      arguments: ask.shown ?? ask.arguments,
      digest: this.digestOf(ask),
      policyVersion: ask.policyVersion,
      ruleId: ask.ruleId,
      approvers: ask.approvers,
      message: ask.message,
      createdAt,
      expiresAt: createdAt + ask.timeoutMs,
      ...(ask.requestId ? { requestId: ask.requestId } : {}),
      ...(this.options.replicaId ? { replica: this.options.replicaId } : {}),
      ...(ask.detached ? { detached: true } : {}),
    };
    await this.store.open(approval);
    this.options.events.requested(approval);
    if (needsOthers(approval)) this.options.announce?.(approval, this.link(approval.id));
    return approval;
  }

  /**
   * Decides a pending approval, if `decider` may through `channel`. The
   * first decision wins. A yes to a detached approval becomes a single-use
   * grant for the caller's retry, good until the approval would have expired.
   */
  async decide(id: string, outcome: ApprovalDecision['outcome'], decider: Decider, channel: ApprovalChannel): Promise<DecideResult> {
    const approval = await this.store.get(id);
    if (!approval) return { ok: false, status: 404, why: 'no such approval is pending (decided, expired or unknown)' };
    const may: MayDecide = mayDecide(approval, decider, channel);
    if (!may.ok) return { ok: false, status: 403, why: may.why };
    const decision: ApprovalDecision = { outcome, by: decider.id, channel, at: this.now() };
    if (!(await this.store.decide(id, decision))) return { ok: false, status: 409, why: 'this approval was decided already' };
    this.options.events.decided(approval, decision);
    if (approval.detached) {
      if (outcome === 'granted') await this.store.remember(onceKey(approval.digest), decision, Math.max(1_000, approval.expiresAt - this.now()));
      await this.store.close(id);
    }
    return { ok: true, approval };
  }

  /** The decision on a call's own approval, or undefined when it expired or the call gave up (reported as expired). */
  async wait(approval: PendingApproval, signal: AbortSignal): Promise<ApprovalDecision | undefined> {
    try {
      const decision = await this.store.wait(approval.id, Math.max(0, approval.expiresAt - this.now()), signal);
      if (!decision) this.options.events.expired(approval);
      return decision;
    } finally {
      this.options.events.settled(approval);
    }
  }

  /** Keeps a yes for identical calls, as the rule says. */
  async remember(approval: PendingApproval, decision: ApprovalDecision, remember: Remember, sessionId: string, sessionTtlMs: number): Promise<void> {
    const key = rememberKey(remember, sessionId, approval.digest);
    if (!key) return;
    await this.store.remember(key, decision, remember.kind === 'for' ? remember.ms : sessionTtlMs);
  }

  pending(): Promise<PendingApproval[]> {
    return this.store.pending();
  }
}

function onceKey(digest: string): string {
  return `once:${digest}`;
}

/** Where a remembered yes is kept: per session, or per digest (which names the principal) for a while. */
function rememberKey(remember: Remember, sessionId: string, digest: string): string | undefined {
  if (remember.kind === 'session') return `session:${sessionId}:${digest}`;
  if (remember.kind === 'for') return `for:${digest}`;
  return undefined;
}
