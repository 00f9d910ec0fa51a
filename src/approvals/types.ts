/**
 * Approvals: a person says yes to one exact call. A pending approval binds
 * the principal, the server, the tool, the digest of the arguments as they
 * would be forwarded and the policy version; a decision is final and the
 * first one wins. Plain types only.
 */

import type { Approver } from '../policy/types.js';

/** Who may decide: the caller themself (through their client), a group's members, or one principal. */
export type { Approver } from '../policy/types.js';

/** How the decision was given. */
export type ApprovalChannel = 'elicitation' | 'url' | 'console';

export interface PendingApproval {
  /** Unguessable: the approval page's link carries it. */
  id: string;
  /** The caller whose call waits. */
  principal: string;
  server: string;
  /** The upstream's name of the tool, and the name the caller used. */
  tool: string;
  exposed: string;
  /** The arguments exactly as they would be forwarded (shown to the approver). */
  arguments: Record<string, unknown>;
  /** SHA-256 (JCS) over { principal, server, tool, arguments, policyVersion }. */
  digest: string;
  policyVersion: string;
  ruleId: string;
  approvers: Approver[];
  message: string;
  /** The request id of the call, which its audit record carries. */
  requestId?: string;
  /** Where the call is parked (replica id), for an approver on another replica. */
  replica?: string;
  createdAt: number;
  expiresAt: number;
  /**
   * No call waits on it: the caller's client could only be given a link
   * (-32042 or APPROVAL_REQUIRED), so a yes is kept for the caller's retry of
   * the same call (same digest), once.
   */
  detached?: boolean;
}

export interface ApprovalDecision {
  outcome: 'granted' | 'declined';
  /** The principal who decided. */
  by: string;
  channel: ApprovalChannel;
  at: number;
}

/** Where pending approvals, decisions and remembered grants live: this process, or Redis shared by replicas. */
export interface ApprovalStore {
  /** Records a pending approval until its expiry. */
  open(approval: PendingApproval): Promise<void>;
  get(id: string): Promise<PendingApproval | undefined>;
  /** Every pending approval not yet decided or expired, oldest first. */
  pending(): Promise<PendingApproval[]>;
  /** Records the decision if the approval is still pending; false when it was decided already, expired or is unknown. */
  decide(id: string, decision: ApprovalDecision): Promise<boolean>;
  /**
   * Resolves with the decision once one is made (on any replica), or
   * undefined at `timeoutMs` or when `signal` aborts. The pending approval is
   * gone after.
   */
  wait(id: string, timeoutMs: number, signal: AbortSignal): Promise<ApprovalDecision | undefined>;
  /** Drops a pending approval (its call gave up). */
  close(id: string): Promise<void>;
  /** Remembers a yes for `key` (a scope and a digest) for `ttlMs`. */
  remember(key: string, decision: ApprovalDecision, ttlMs: number): Promise<void>;
  remembered(key: string): Promise<ApprovalDecision | undefined>;
  /** Returns and removes a remembered decision in one step (a single-use grant): two takers never both get it. */
  take(key: string): Promise<ApprovalDecision | undefined>;
  health(): { type: 'memory' | 'redis'; state: 'up' | 'down' };
  shutdown(): Promise<void>;
}
