/**
 * Asks the policy engine whether this principal may make this request, and
 * stops it with POLICY_DENIED or INSUFFICIENT_SCOPE if not. Runs after the
 * route is resolved (policy needs the real server, the original name and the
 * tool's annotations) and before the rate limit (a denied call must not
 * spend tokens). Shadow rules never change the answer here; they are only
 * counted.
 */
import { GatewayError } from '../core/errors.js';
import { wouldAct } from '../policy/shadow.js';
import type { Decision, DecisionInput, Effect } from '../policy/types.js';
import type { Stage } from './chain.js';
import type { CallContext } from './context.js';

export interface DecisionMaker {
  decide(input: DecisionInput, options?: { listing?: boolean }): Decision;
  /** Whether every caller sees the same entries of this list from these servers (absent: assume not). */
  listsAlike?(listMethod: string, servers: readonly string[]): boolean;
}

/**
 * `onShadow` is told of every shadow rule (`mode: shadow`) that would have
 * acted on this request, whatever the decision (list entries are decided
 * elsewhere and never count).
 */
export function authorize(policy: () => DecisionMaker, onShadow?: (rule: string, effect: Effect) => void): Stage {
  return {
    name: 'authorize',
    run(ctx) {
      const input = decisionInput(ctx);
      const decision = policy().decide(input);
      ctx.decision = decision;
      ctx.decisionInput = input;
      if (decision.shadow && onShadow) for (const r of decision.shadow.rules) if (wouldAct(r)) onShadow(r.ruleId, r.effect);
      if (!decision.allowed) throw denial(decision);
    },
  };
}

export function denial(decision: Decision): GatewayError {
  const code = decision.code ?? 'POLICY_DENIED';
  const data = {
    ruleId: decision.ruleId,
    reason: decision.reason,
    ...(decision.missingScopes ? { missingScopes: decision.missingScopes } : {}),
  };
  const message = code === 'INSUFFICIENT_SCOPE' ? `Insufficient scope: ${decision.reason}` : `Denied by policy: ${decision.reason}`;
  return new GatewayError(code, message, data);
}

/**
 * What the policy engine sees of a request: the forwarded request (original
 * names, the canonical URI, the arguments exactly as sent), never the
 * client's raw params. A completion is decided as the use of its ref.
 */
export function decisionInput(ctx: CallContext): DecisionInput {
  const target = ctx.target!;
  const upstream = target.upstream;
  const input: DecisionInput = {
    principal: ctx.principal,
    method: ctx.method,
    server: { name: upstream.name, transport: upstream.config.spec.type },
    request: {
      time: new Date(),
      transport: ctx.session.transport,
      sessionId: ctx.session.id,
      ...(ctx.session.profile ? { profile: ctx.session.profile } : {}),
    },
  };
  switch (ctx.method) {
    case 'tools/call':
      input.tool = { name: target.original, annotations: target.annotations ?? {} };
      input.args = argumentsOf(ctx.forwarded);
      break;
    case 'prompts/get':
      input.prompt = { name: target.original };
      input.args = argumentsOf(ctx.forwarded);
      break;
    case 'completion/complete':
      if (target.kind === 'prompt') input.prompt = { name: target.original };
      else input.resource = { uri: target.original };
      input.args = {};
      break;
    default:
      input.resource = { uri: target.original };
      input.args = {};
  }
  return input;
}

/** The forwarded arguments (upstreamParams has refused any that are not an object). */
function argumentsOf(forwarded: Record<string, unknown> | undefined): Record<string, unknown> {
  return (forwarded?.arguments as Record<string, unknown> | undefined) ?? {};
}
