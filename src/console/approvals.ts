/**
 * The console's approvals inbox: every call waiting for a person's yes,
 * and a decision on one. Whoever is signed in sees the inbox (with whether
 * they may decide each); deciding needs the CSRF token and that the signed-in
 * principal is a named approver (never of their own call): approvals.decide
 * checks, and its events audit who decided.
 */
import type { Router } from 'express';
import type { RequestHandler } from 'express';
import type { Principal } from '../core/principal.js';
import type { ConsoleSession } from './sessions.js';

export interface ConsoleApprovals {
  /** Pending approvals as the inbox lists them, with `mayDecide` for `viewer`. */
  inbox(viewer: Principal): Promise<unknown[]>;
  decide(id: string, outcome: 'granted' | 'declined', decider: Principal): Promise<{ ok: true } | { ok: false; status: number; why: string }>;
}

export function mountApprovalInbox(router: Router, approvals: ConsoleApprovals | undefined, signedIn: RequestHandler, withCsrf: RequestHandler): void {
  router.get('/api/approvals', signedIn, async (_req, res) => {
    if (!approvals) return void res.json({ approvals: [] });
    const session = res.locals.session as ConsoleSession;
    res.json({ approvals: await approvals.inbox(session.principal) });
  });
  router.post('/api/approvals/:id', signedIn, withCsrf, async (req, res) => {
    const decision = (req.body as { decision?: unknown } | undefined)?.decision;
    if (decision !== 'grant' && decision !== 'decline') return void res.status(400).json({ error: 'send { "decision": "grant" | "decline" }' });
    if (!approvals) return void res.status(404).json({ error: 'no such approval is pending' });
    const session = res.locals.session as ConsoleSession;
    const result = await approvals.decide(String(req.params.id), decision === 'grant' ? 'granted' : 'declined', session.principal);
    if (!result.ok) return void res.status(result.status).json({ error: result.why });
    res.json({ id: req.params.id, outcome: decision === 'grant' ? 'granted' : 'declined' });
  });
}
