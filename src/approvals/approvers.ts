/**
 * Who may decide an approval, and through which channel. The caller decides
 * only where the rule names `self`, and only through their own client or the
 * link it was given; in the console nobody decides their own call, and an
 * approver must be the named principal or in the named group.
 */
import type { ApprovalChannel, PendingApproval } from './types.js';

export interface Decider {
  id: string;
  groups: readonly string[];
}

export type MayDecide = { ok: true } | { ok: false; why: string };

export function mayDecide(approval: PendingApproval, decider: Decider, channel: ApprovalChannel): MayDecide {
  const own = decider.id === approval.principal;
  if (channel !== 'console') {
    if (!own) return { ok: false, why: 'only the caller answers through their client or link' };
    return approval.approvers.some((a) => a.kind === 'self') ? { ok: true } : { ok: false, why: 'this call needs another person to approve it' };
  }
  if (own) return { ok: false, why: 'nobody approves their own call in the console' };
  const named = approval.approvers.some((a) => (a.kind === 'principal' && a.id === decider.id) || (a.kind === 'group' && decider.groups.includes(a.name)));
  return named ? { ok: true } : { ok: false, why: `${decider.id} is not an approver of this call` };
}

/** Whether anyone but the caller is asked (the call is then announced to the approvers). */
export function needsOthers(approval: Pick<PendingApproval, 'approvers'>): boolean {
  return approval.approvers.some((a) => a.kind !== 'self');
}
