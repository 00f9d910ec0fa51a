/**
 * Records the outcome of every forwarded request: an audit record for every
 * decision, and a debug log line. Runs in `finally`. Arguments appear only
 * when `audit.includeArgs` is on; credentials never do.
 */
import { GatewayError } from '../core/errors.js';
import type { AuditRecord, AuditSink } from '../observability/audit.js';
import type { Logger } from '../observability/log.js';
import type { Finisher } from './chain.js';
import type { CallContext } from './context.js';

export function record(log: Logger, audit: AuditSink): Finisher {
  return {
    name: 'record',
    run(ctx) {
      const entry = auditRecord(ctx, audit.includeArgs);
      audit.write(entry);
      if (log.level === 'debug') {
        log.debug('request', {
          session: entry.session,
          method: entry.method,
          server: entry.server,
          name: entry.name,
          outcome: entry.outcome,
          code: entry.code,
          ms: entry.latencyMs,
        });
      }
    },
  };
}

function auditRecord(ctx: CallContext, includeArgs: boolean): AuditRecord {
  const error = ctx.error;
  const code = error instanceof GatewayError ? error.code : undefined;
  const refused = code === 'POLICY_DENIED' || code === 'INSUFFICIENT_SCOPE' || code === 'RATE_LIMITED' || code === 'TOOL_QUARANTINED';
  const decisionData = error instanceof GatewayError ? error.data : undefined;
  const errors = conditionErrors(ctx);
  return {
    time: new Date().toISOString(),
    requestId: ctx.requestId,
    ...(ctx.trace ? { traceId: ctx.trace.traceId } : {}),
    principal: ctx.principal.id,
    principalKind: ctx.principal.kind,
    session: ctx.session.id,
    transport: ctx.session.transport,
    ...(ctx.session.profile ? { profile: ctx.session.profile } : {}),
    method: ctx.method,
    ...where(ctx, code === 'TOOL_QUARANTINED' ? decisionData : undefined),
    // 'none': stopped before policy was asked (an unknown name, say).
    decision: refused ? 'deny' : ctx.decision ? 'allow' : 'none',
    ruleId: (decisionData?.ruleId as string | undefined) ?? ctx.decision?.ruleId,
    reason:
      (code === 'TOOL_QUARANTINED' ? `quarantined: ${String(decisionData?.reason)}` : (decisionData?.reason as string | undefined)) ?? ctx.decision?.reason,
    // Conditions that could not be evaluated (each denied if it was a deny or require).
    ...(errors.length > 0 ? { conditionErrors: errors } : {}),
    code,
    outcome: error === undefined ? 'ok' : refused ? 'denied' : 'error',
    error: error === undefined || refused ? undefined : error instanceof Error ? error.message : String(error),
    ...(ctx.credential ? { credential: ctx.credential.kind, ...(ctx.credential.subject ? { upstreamSubject: ctx.credential.subject } : {}) } : {}),
    latencyMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    ...contractOf(ctx, code === 'TOOL_QUARANTINED' ? decisionData : undefined),
    ...(ctx.argumentProblems ? { argumentProblems: ctx.argumentProblems } : {}),
    // The arguments as forwarded (validated, exactly what the upstream got), never the raw params.
    ...(includeArgs ? { args: ctx.forwarded?.arguments } : {}),
  };
}

function conditionErrors(ctx: CallContext): { ruleId: string; error: string }[] {
  return (ctx.decision?.trace ?? []).filter((t) => t.outcome === 'condition-error').map((t) => ({ ruleId: t.ruleId, error: t.detail ?? '' }));
}

/** Server and names: the resolved target, or for a quarantined entry (never resolved) what its refusal names. */
function where(ctx: CallContext, quarantined: Record<string, unknown> | undefined): Pick<AuditRecord, 'server' | 'name' | 'original'> {
  if (quarantined) return { server: quarantined.server as string, name: quarantined.exposed as string, original: quarantined.name as string };
  return { server: ctx.target?.upstream.name, name: ctx.target?.exposed, original: ctx.target?.original };
}

/** The contract the request was decided on (when contracts are checked), or the drift that held it back. */
function contractOf(ctx: CallContext, quarantined: Record<string, unknown> | undefined): Pick<AuditRecord, 'contract'> {
  if (quarantined) return { contract: { status: 'quarantined', drifted: quarantined.drifted as string[] } };
  const verdict = ctx.target?.contract;
  if (!verdict) return {};
  return { contract: { status: verdict.status, hash: verdict.hash, ...(verdict.approvedHash ? { approvedHash: verdict.approvedHash } : {}) } };
}
