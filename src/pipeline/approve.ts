/**
 * A call an `approve` rule decided waits for a person's yes to exactly
 * what would be forwarded (approvals/approvals.ts binds the digest).
 *
 * - The caller approves (`self`): a client that can answer a form
 *   elicitation is asked in both eras (2025: a related request; 2026: an
 *   input round); one that can only open URLs is given the approval page
 *   (2026: in an input round, the call waits; 2025: -32042, the call ends and
 *   its retry finds the single-use grant); any other client gets
 *   APPROVAL_REQUIRED with the link.
 * - Another person approves (`group:`, `principal:`): the call waits while
 *   they decide in the console (progress notifications keep a 2025 client
 *   that asked for progress informed).
 * A no is APPROVAL_DECLINED; no decision in time is APPROVAL_TIMEOUT.
 */
import type { ApprovalAsk, Approvals } from '../approvals/approvals.js';
import { ApprovalStoreFull } from '../approvals/memory-store.js';
import type { ApprovalDecision, PendingApproval } from '../approvals/types.js';
import { GatewayError } from '../core/errors.js';
import type { ApprovalRequirement } from '../policy/types.js';
import type { Stage } from './chain.js';
import type { CallContext } from './context.js';

export interface ApproveDeps {
  approvals: Approvals;
  policyVersion: () => string;
  /** What an approver may see of the arguments (the audit's redaction). */
  shown: (args: Record<string, unknown>) => Record<string, unknown>;
  /** How long `remember: session` keeps a yes (sessions end sooner when idle). */
  sessionTtlMs: number;
  /** Between progress notifications to a 2025 client that waits for another person. */
  progressEveryMs?: number;
}

/** The requests an approval stands in front of: those that use a tool, prompt or resource. */
const APPROVED_USES: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe']);

/** The longest argument text put into an elicitation's message. */
const MAX_SHOWN_CHARS = 2_000;

export function approve(deps: ApproveDeps): Stage {
  return {
    name: 'approve',
    // Synchronous when nothing needs approving (nearly every call): no promise, no microtask.
    run(ctx) {
      const requirement = ctx.decision?.approval;
      // A completion only suggests values and an unsubscribe ends something: neither is the use that needs a yes.
      if (!requirement || !APPROVED_USES.has(ctx.method)) return;
      return awaitApproval(ctx, requirement, deps);
    },
  };
}

/** The call waits for a yes (or is refused) as the file comment describes. */
async function awaitApproval(ctx: CallContext, requirement: ApprovalRequirement, deps: ApproveDeps): Promise<void> {
  const ask = askOf(ctx, requirement, deps);
  // A subscription the gateway makes for a listen stream has nobody to ask and no one waiting: refused, nothing opened.
  if (ctx.unattended)
    throw new GatewayError('APPROVAL_REQUIRED', `${ask.message} This needs an approval, which a subscription stream cannot give`, { ruleId: ask.ruleId });
  const granted = await deps.approvals.grantFor(ask, requirement.remember);
  if (granted) {
    ctx.approval = { by: granted.by, channel: granted.channel, remembered: true };
    return;
  }
  const client = clientCan(ctx, deps.approvals.linkable);
  const self = requirement.approvers.some((a) => a.kind === 'self');
  if (self && !client.form && !(client.url && ctx.session.era === 'modern') && requirement.approvers.length === 1) {
    throw await detached(deps.approvals, ask, client.url);
  }
  const approval = await openOrRefuse(deps.approvals, ask);
  const decision = await waitForDecision(ctx, deps, approval, self ? client : { form: false, url: false });
  await deps.approvals.remember(approval, decision, requirement.remember, ctx.session.id, deps.sessionTtlMs);
  ctx.approval = { id: approval.id, by: decision.by, channel: decision.channel };
}

function askOf(ctx: CallContext, requirement: ApprovalRequirement, deps: ApproveDeps): ApprovalAsk {
  const forwarded = ctx.forwarded ?? {};
  const { _meta: _ignored, ...request } = forwarded as Record<string, unknown>;
  // A tool call is approved by its arguments; a prompt or resource by its whole request (name or URI too).
  const args = ctx.method === 'tools/call' ? ((forwarded.arguments as Record<string, unknown> | undefined) ?? {}) : request;
  const exposed = ctx.target?.exposed ?? '';
  return {
    principal: ctx.principal.id,
    sessionId: ctx.session.id,
    server: ctx.target?.upstream.name ?? '',
    tool: ctx.target?.original ?? '',
    exposed,
    arguments: args,
    shown: deps.shown(args),
    policyVersion: deps.policyVersion(),
    ruleId: requirement.ruleId,
    approvers: requirement.approvers,
    message: requirement.message ?? `Allow ${exposed}?`,
    timeoutMs: requirement.timeoutMs,
    ...(ctx.requestId ? { requestId: ctx.requestId } : {}),
  };
}

/** How the caller can be asked; a URL is no use when the gateway serves no approval page (--stdio without publicUrl). */
function clientCan(ctx: CallContext, linkable: boolean): { form: boolean; url: boolean } {
  const elicitation = ctx.origin.clientCapabilities?.elicitation as { form?: unknown; url?: unknown } | undefined;
  if (!elicitation) return { form: false, url: false };
  // An empty `elicitation: {}` is the 2025-06 spelling of form support.
  return { form: Boolean(elicitation.form) || (!elicitation.url && Object.keys(elicitation).length === 0), url: linkable && Boolean(elicitation.url) };
}

/** The caller can only be given a link: the approval is kept for their retry, and this call ends. */
async function detached(approvals: Approvals, ask: ApprovalAsk, urlElicitation: boolean): Promise<GatewayError> {
  if (!approvals.linkable) {
    return new GatewayError(
      'APPROVAL_REQUIRED',
      `${ask.message} This call needs your approval, and this gateway serves no approval page: use a client that supports form elicitation.`,
      {
        ruleId: ask.ruleId,
      },
    );
  }
  const approval = await openOrRefuse(approvals, { ...ask, detached: true });
  const url = approvals.link(approval.id);
  const data = { approvalId: approval.id, url, ruleId: ask.ruleId, expiresAt: new Date(approval.expiresAt).toISOString() };
  if (urlElicitation) {
    const elicitations = [{ mode: 'url', elicitationId: approval.id, url, message: `${ask.message} (approve, then call again)` }];
    return new GatewayError('URL_ELICITATION_REQUIRED', ask.message, { ...data, elicitations });
  }
  return new GatewayError('APPROVAL_REQUIRED', `${ask.message} This call needs your approval: open ${url}, approve, then call again.`, data);
}

/** A caller with too many calls waiting (or a gateway with too many) is refused, as over a rate limit. */
async function openOrRefuse(approvals: Approvals, ask: ApprovalAsk): Promise<PendingApproval> {
  try {
    return await approvals.open(ask);
  } catch (err) {
    if (err instanceof ApprovalStoreFull) throw new GatewayError('RATE_LIMITED', `Not asked for approval: ${err.message}`, { reason: 'approvals-pending' });
    throw err;
  }
}

/** Asks whoever may answer, then waits for the first decision; a no or no decision ends the call. */
async function waitForDecision(
  ctx: CallContext,
  deps: ApproveDeps,
  approval: PendingApproval,
  client: { form: boolean; url: boolean },
): Promise<ApprovalDecision> {
  const done = new AbortController();
  const signal = AbortSignal.any([ctx.signal, done.signal]);
  try {
    if (client.form || client.url) void askTheCaller(ctx, deps.approvals, approval, client.form ? 'form' : 'url', signal);
    else keepInformed(ctx, deps.progressEveryMs ?? 15_000, signal);
    const decision = await deps.approvals.wait(approval, signal);
    if (!decision) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw new GatewayError('APPROVAL_TIMEOUT', `Nobody approved ${approval.exposed} in time`, { approvalId: approval.id, ruleId: approval.ruleId });
    }
    if (decision.outcome === 'declined') {
      throw new GatewayError('APPROVAL_DECLINED', `${approval.exposed} was not approved`, {
        approvalId: approval.id,
        ruleId: approval.ruleId,
        by: decision.by,
      });
    }
    return decision;
  } finally {
    done.abort();
  }
}

/** The elicitation to the caller's client; its answer decides (an answer after another decision changes nothing). */
async function askTheCaller(ctx: CallContext, approvals: Approvals, approval: PendingApproval, mode: 'form' | 'url', signal: AbortSignal): Promise<void> {
  const params =
    mode === 'form'
      ? { mode: 'form', message: formMessage(approval), requestedSchema: APPROVE_SCHEMA }
      : { mode: 'url', elicitationId: approval.id, url: approvals.link(approval.id), message: approval.message };
  let answer: { action?: string; content?: { approve?: unknown } };
  try {
    answer = (await ctx.origin.send({ method: 'elicitation/create', params }, signal)) as typeof answer;
  } catch {
    // No answer from the client (it failed or the call ended): other approvers, or the timeout, decide.
    return;
  }
  // A URL-mode accept only means the page was opened: the page decides.
  if (mode === 'url' && answer.action === 'accept') return;
  const granted = mode === 'form' && answer.action === 'accept' && answer.content?.approve !== false;
  await approvals.decide(approval.id, granted ? 'granted' : 'declined', ctx.principal, 'elicitation');
}

const APPROVE_SCHEMA = {
  type: 'object',
  properties: { approve: { type: 'boolean', title: 'Approve this call', default: true } },
  required: ['approve'],
};

function formMessage(approval: PendingApproval): string {
  const args = JSON.stringify(approval.arguments, null, 2);
  const shown = args.length > MAX_SHOWN_CHARS ? `${args.slice(0, MAX_SHOWN_CHARS)}…` : args;
  return `${approval.message}\n\nTool: ${approval.exposed} (server ${approval.server})\nArguments: ${shown}`;
}

/** A client that asked for progress hears that its call waits, so it does not give up for silence. */
function keepInformed(ctx: CallContext, everyMs: number, signal: AbortSignal): void {
  const token = ctx.progressToken;
  if (token === undefined) return;
  let progress = 0;
  const timer = setInterval(() => {
    progress++;
    ctx.origin.notify({ method: 'notifications/progress', params: { progressToken: token, progress, message: 'waiting for approval' } }).catch(() => {});
  }, everyMs);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
