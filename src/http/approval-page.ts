/**
 * The approval page a caller's client links to (URL-mode elicitation, or the
 * link in APPROVAL_REQUIRED): `GET /approvals/<id>` shows exactly the call
 * waiting (tool, server, the arguments approvers may see, the rule's
 * message) and changes nothing, since link previews fetch URLs too; its
 * Approve and Decline buttons `POST` to the same URL, refused from any
 * other site. The id is unguessable and given only to the caller's client:
 * holding the link is how the caller approves their own call, so it works
 * only where the rule names `self`. Others decide in the console.
 */
import express, { type Express, type Request, type Response } from 'express';
import type { Approvals } from '../approvals/approvals.js';
import type { PendingApproval } from '../approvals/types.js';
import { isCrossSitePost } from '../credentials/browser-binding.js';
import { escape, page } from './pages.js';

/** Arguments beyond this are cut on the page (the approver sees that they were). */
const MAX_SHOWN_CHARS = 20_000;

export function mountApprovalPage(app: Express, approvals: Approvals, publicUrl: () => string): void {
  app.get('/approvals/:id', async (req: Request, res: Response) => {
    const approval = await approvals.store.get(String(req.params.id));
    if (!approval) return gone(res);
    if (!approval.approvers.some((a) => a.kind === 'self')) {
      return page(res, 403, { title: 'Approval', body: '<p>This call waits for another person: approvers decide in the console.</p>', code: 'not-self' });
    }
    page(res, 200, { title: 'Approve this call?', body: `${describe(approval)}${buttons()}` });
  });

  app.post('/approvals/:id', express.urlencoded({ extended: false, limit: '1kb' }), async (req: Request, res: Response) => {
    if (isCrossSitePost(req.headers, publicUrl()))
      return page(res, 403, { title: 'Refused', body: '<p>Approve from the page itself.</p>', code: 'cross-site' });
    const id = String(req.params.id);
    const approval = await approvals.store.get(id);
    if (!approval) return gone(res);
    const decision = (req.body as { decision?: unknown } | undefined)?.decision;
    if (decision !== 'grant' && decision !== 'decline')
      return page(res, 400, { title: 'Approval', body: '<p>Press Approve or Decline.</p>', code: 'no-decision' });
    const outcome = decision === 'grant' ? 'granted' : 'declined';
    const result = await approvals.decide(id, outcome, { id: approval.principal, groups: [] }, 'url');
    if (!result.ok) return page(res, result.status, { title: 'Approval', body: `<p>${escape(result.why)}.</p>`, code: `refused-${result.status}` });
    const next = approval.detached ? ' Go back to your client and make the call again.' : ' Your client goes on by itself.';
    page(res, 200, {
      title: outcome === 'granted' ? 'Approved' : 'Declined',
      body: `<p id="outcome" data-outcome="${outcome}">${outcome === 'granted' ? `Approved.${escape(next)}` : 'Declined: the call will not be made.'}</p>`,
    });
  });
}

function describe(a: PendingApproval): string {
  const args = JSON.stringify(a.arguments, null, 2);
  const shown = args.length > MAX_SHOWN_CHARS ? `${args.slice(0, MAX_SHOWN_CHARS)}\n… (cut)` : args;
  return (
    `<p id="message">${escape(a.message)}</p>` +
    `<p>Tool <strong id="tool">${escape(a.exposed)}</strong> on server ${escape(a.server)}, ` +
    `for <strong id="principal">${escape(a.principal)}</strong>; the request expires at ${escape(new Date(a.expiresAt).toISOString())}.</p>` +
    `<p>Arguments (exactly these; a call with other arguments needs its own approval):</p><pre id="arguments">${escape(shown)}</pre>`
  );
}

function buttons(): string {
  return (
    '<form method="post"><input type="hidden" name="decision" value="grant"><button type="submit">Approve</button></form>' +
    '<form method="post"><input type="hidden" name="decision" value="decline"><button type="submit">Decline</button></form>'
  );
}

function gone(res: Response): void {
  page(res, 404, {
    title: 'Approval',
    body: '<p>No such call waits for approval: it was decided already, it expired, or the link is wrong.</p>',
    code: 'unknown-approval',
  });
}
