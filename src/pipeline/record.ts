/**
 * Records the outcome of every forwarded request: an audit record for every
 * decision, and a debug log line. Runs in `finally`. Arguments appear only
 * when `audit.includeArgs` is on; credentials never do.
 */
import { GatewayError } from '../core/errors.js';
import { canonicalHash, canonicalValue, isCanonical } from '../infra/canonical.js';
import type { AuditRecord, AuditSink } from '../observability/audit.js';
import type { Logger } from '../observability/log.js';
import type { Finisher } from './chain.js';
import type { CallContext } from './context.js';

export function record(log: Logger, audit: AuditSink, policyVersion: () => string): Finisher {
  return {
    name: 'record',
    run(ctx) {
      const entry = auditRecord(ctx, audit, policyVersion());
      audit.write(entry, nestedCanonical(entry));
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

/**
 * The record, its keys written in code-unit order with the chain's fields in
 * place: then JSON.stringify gives its JCS form as it is, and sealing it
 * into the hash chain costs one hash, not a canonicalisation (bench/audit.mjs).
 * Nested values that come from outside (annotations, arguments) are put in
 * canonical form. A key out of order is still hashed correctly, only slower.
 */
function auditRecord(ctx: CallContext, audit: AuditSink, policyVersion: string): AuditRecord {
  const error = ctx.error;
  const code = error instanceof GatewayError ? error.code : undefined;
  const refused = code !== undefined && REFUSALS.has(code);
  const decisionData = error instanceof GatewayError ? error.data : undefined;
  const quarantined = code === 'TOOL_QUARANTINED' ? decisionData : undefined;
  const errors = conditionErrors(ctx);
  const at = where(ctx, quarantined);
  const args = ctx.forwarded?.arguments;
  const shadow = ctx.decision?.shadow;
  return {
    ...(ctx.decisionInput?.tool ? { annotations: canonicalValue(ctx.decisionInput.tool.annotations ?? {}) as Record<string, unknown> } : {}),
    ...(ctx.approval ? { approval: approvalOf(ctx.approval) } : {}),
    // The arguments as forwarded (validated, exactly what the upstream got), never the raw params:
    // the values only when allowed and without the redacted paths, their digest always.
    ...(args !== undefined && audit.includeArgs ? { args: canonicalValue(audit.recordable(args)) } : {}),
    ...(args !== undefined ? { argsDigest: canonicalHash(args) } : {}),
    ...(ctx.argumentProblems ? { argumentProblems: ctx.argumentProblems.map((p) => ({ message: p.message, path: p.path })) } : {}),
    code,
    // Conditions that could not be evaluated (each denied if it was a deny or require).
    ...(errors.length > 0 ? { conditionErrors: errors } : {}),
    ...contractOf(ctx, quarantined),
    ...(ctx.credential ? { credential: ctx.credential.kind } : {}),
    // 'none': stopped before policy was asked (an unknown name, say).
    decision: refused ? 'deny' : ctx.decision ? 'allow' : 'none',
    error: error === undefined || refused ? undefined : error instanceof Error ? error.message : String(error),
    // The decision input, normalised: enough to decide the request again (`switchboard audit replay`).
    groups: ctx.principal.groups,
    latencyMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    method: ctx.method,
    name: at.name,
    original: at.original,
    outcome: error === undefined ? 'ok' : refused ? 'denied' : 'error',
    policyVersion,
    prev: null,
    principal: ctx.principal.id,
    principalKind: ctx.principal.kind,
    ...(ctx.session.profile ? { profile: ctx.session.profile } : {}),
    reason: (quarantined ? `quarantined: ${String(quarantined.reason)}` : (decisionData?.reason as string | undefined)) ?? ctx.decision?.reason,
    requestId: ctx.requestId,
    ruleId: (decisionData?.ruleId as string | undefined) ?? ctx.decision?.ruleId,
    ...(ctx.decision && ctx.decision.trace.length > 0 ? { rules: [...new Set(ctx.decision.trace.map((t) => t.ruleId))] } : {}),
    scopes: ctx.principal.scopes,
    seq: 0,
    server: at.server,
    session: ctx.session.id,
    // What shadow rules would have done (their explain trace is not kept).
    ...(shadow ? { shadow: canonicalValue({ rules: shadow.rules, ...(shadow.would ? { would: shadow.would } : {}) }) as AuditRecord['shadow'] } : {}),
    time: new Date().toISOString(),
    ...(ctx.trace ? { traceId: ctx.trace.traceId } : {}),
    transport: ctx.session.transport,
    type: 'audit',
    ...(ctx.credential?.subject ? { upstreamSubject: ctx.credential.subject } : {}),
    writer: '',
  };
}

/** Answers that refuse the call (the upstream never saw it): the record's outcome is `denied`. */
const REFUSALS = new Set([
  'POLICY_DENIED',
  'INSUFFICIENT_SCOPE',
  'RATE_LIMITED',
  'TOOL_QUARANTINED',
  'APPROVAL_REQUIRED',
  'APPROVAL_DECLINED',
  'APPROVAL_TIMEOUT',
]);

/** Keys in code-unit order (the chain's fast path). */
function approvalOf(a: NonNullable<CallContext['approval']>): NonNullable<AuditRecord['approval']> {
  return { by: a.by, channel: a.channel, ...(a.id ? { id: a.id } : {}), ...(a.remembered ? { remembered: true } : {}) };
}

/** Whether the values that came from outside (annotations, arguments, shadow outcomes) are in JCS form: the chain's fast path. */
function nestedCanonical(entry: AuditRecord): boolean {
  return (
    isCanonical(entry.annotations) && isCanonical(entry.args) && isCanonical(entry.shadow) && isCanonical(entry.argumentProblems) && isCanonical(entry.contract)
  );
}

function conditionErrors(ctx: CallContext): { error: string; ruleId: string }[] {
  return (ctx.decision?.trace ?? []).filter((t) => t.outcome === 'condition-error').map((t) => ({ error: t.detail ?? '', ruleId: t.ruleId }));
}

/** Server and names: the resolved target, or for a quarantined entry (never resolved) what its refusal names. */
function where(ctx: CallContext, quarantined: Record<string, unknown> | undefined): Pick<AuditRecord, 'server' | 'name' | 'original'> {
  if (quarantined) return { server: quarantined.server as string, name: quarantined.exposed as string, original: quarantined.name as string };
  return { server: ctx.target?.upstream.name, name: ctx.target?.exposed, original: ctx.target?.original };
}

/** The contract the request was decided on (when contracts are checked), or the drift that held it back. */
function contractOf(ctx: CallContext, quarantined: Record<string, unknown> | undefined): Pick<AuditRecord, 'contract'> {
  if (quarantined) return { contract: { drifted: quarantined.drifted as string[], status: 'quarantined' } };
  const verdict = ctx.target?.contract;
  if (!verdict) return {};
  return { contract: { ...(verdict.approvedHash ? { approvedHash: verdict.approvedHash } : {}), hash: verdict.hash, status: verdict.status } };
}
