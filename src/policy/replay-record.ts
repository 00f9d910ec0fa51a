/**
 * One audit record (src/observability/audit/record.ts, written by
 * src/pipeline/record.ts) → the decision input it was decided on, for
 * `switchboard audit replay`. Pure: the caller gives what the configuration
 * says of each server. What a record does not carry is never made up: a
 * record that lacks something the decision needs says so (`Unreplayable`),
 * and whether an absent part is needed is for replay.ts to judge against
 * the candidate rules (`ArgsState`).
 */
import type { z } from 'zod';
import { ANONYMOUS, apiKeyPrincipal, parsePrincipalId, stdioPrincipal, type Principal } from '../core/principal.js';
import { canonicalHash } from '../infra/canonical.js';
import { AuditRecordSchema } from '../observability/audit/record.js';
import { KIND_OF } from './evaluation.js';
import type { DecisionInput } from './types.js';

/** The fields replay reads, typed by the writer's own schema; other fields (chain fields, shadow, contract…) are not checked. */
export const ReplayRecordSchema = AuditRecordSchema.pick({
  type: true,
  time: true,
  requestId: true,
  principal: true,
  principalKind: true,
  groups: true,
  scopes: true,
  session: true,
  transport: true,
  profile: true,
  method: true,
  server: true,
  name: true,
  original: true,
  annotations: true,
  decision: true,
  ruleId: true,
  rules: true,
  conditionErrors: true,
  code: true,
  outcome: true,
  argsDigest: true,
  args: true,
  policyVersion: true,
}).loose();

export type ReplayRecord = z.output<typeof ReplayRecordSchema>;

/** Why a request that policy decided cannot be decided again. */
export type Unreplayable =
  | 'server-not-in-config'
  | 'args-not-recorded'
  | 'args-redacted'
  | 'claims-not-recorded'
  | 'completion-ref-unknown'
  | 'record-incomplete';

export const UNREPLAYABLE_LABELS: Readonly<Record<Unreplayable, string>> = {
  'server-not-in-config': 'server not in the configuration, so its transport is unknown',
  'args-not-recorded': 'arguments not recorded',
  'args-redacted': 'arguments redacted',
  'claims-not-recorded': 'JWT claims not recorded',
  'completion-ref-unknown': 'completion ref kind not recorded, and deciding it as a prompt or as a resource differs',
  'record-incomplete': 'the record lacks what the decision needs',
};

/** Why a record is not re-decided at all: policy never decided it. */
export type SkipReason = 'refused-before-policy' | 'quarantined';

export const SKIP_LABELS: Readonly<Record<SkipReason, string>> = {
  'refused-before-policy': 'refused before policy was asked (decision "none")',
  quarantined: 'quarantined by the contract guard (policy was not asked)',
};

/**
 * The arguments as far as the record knows them. `none`: the request had no
 * arguments (or its method decides without them). `not-recorded`: only their
 * digest (audit.includeArgs was off). `redacted`: recorded with audit.redact
 * paths replaced, so they differ from what was decided on.
 */
export type ArgsState = 'recorded' | 'none' | 'not-recorded' | 'redacted';

/** What the configuration says of a server the records name. */
export interface ReplayServer {
  transport: 'stdio' | 'http' | 'sse';
  /** For a completion: whether its exposed name is a prompt's or a resource's under this server's prefix (undefined: both or neither). */
  refKind?: (exposed: string, original: string) => 'prompt' | 'resource' | undefined;
}

export type PreparedInput =
  | {
      ok: true;
      /** One input; two for a completion whose ref kind is unknown (as a prompt, as a resource). */
      inputs: DecisionInput[];
      args: ArgsState;
    }
  | { ok: false; reason: Unreplayable; detail: string };

export type Classified = { kind: 'skip'; reason: SkipReason; code: string } | { kind: 'replay'; originalAllowed: boolean; originalRule: string };

/** Rule label for a decision made by no rule (the gateway's default effect, or a denylist server's). */
export const DEFAULT_RULE = '(default)';
/** Rule label when the record does not say which rule decided. */
export const UNKNOWN_RULE = '(unknown)';

/**
 * Whether policy decided the record, and what it decided. RATE_LIMITED is
 * recorded as `deny` but policy allowed it (the limit refused it after);
 * TOOL_QUARANTINED is recorded as `deny` but policy was never asked.
 */
export function classify(r: ReplayRecord): Classified {
  if (r.decision === 'none') return { kind: 'skip', reason: 'refused-before-policy', code: r.code ?? '(no code)' };
  if (r.code === 'TOOL_QUARANTINED') return { kind: 'skip', reason: 'quarantined', code: r.code };
  if (r.code === 'RATE_LIMITED') return { kind: 'replay', originalAllowed: true, originalRule: allowRuleOfTrace(r) };
  return { kind: 'replay', originalAllowed: r.decision === 'allow', originalRule: r.ruleId ?? DEFAULT_RULE };
}

/**
 * The allow rule behind a rate-limited request: its `ruleId` names the rate
 * limit, not the decision. An allowed decision's trace (`rules`) holds the
 * allow rule that decided and any rule whose condition failed to evaluate.
 */
function allowRuleOfTrace(r: ReplayRecord): string {
  if (r.rules === undefined) return r.conditionErrors === undefined ? DEFAULT_RULE : UNKNOWN_RULE;
  const errored = new Set((r.conditionErrors ?? []).map((e) => e.ruleId));
  const deciding = r.rules.filter((id) => !errored.has(id));
  if (deciding.length === 0) return DEFAULT_RULE;
  return deciding.length === 1 ? deciding[0]! : UNKNOWN_RULE;
}

const fail = (reason: Unreplayable, detail: string): PreparedInput => ({ ok: false, reason, detail });

/** The decision input(s) of a record that policy decided, as src/pipeline/authorize.ts built them. */
export function prepareInput(r: ReplayRecord, servers: ReadonlyMap<string, ReplayServer>): PreparedInput {
  if (r.server === undefined || r.original === undefined) return fail('record-incomplete', 'no server or original name');
  const server = servers.get(r.server);
  if (!server) return fail('server-not-in-config', `server "${r.server}"`);
  const principal = principalOf(r);
  if (typeof principal === 'string') return fail('record-incomplete', principal);
  const time = new Date(r.time);
  if (Number.isNaN(time.getTime())) return fail('record-incomplete', `time "${r.time}" is not a date`);
  const base: DecisionInput = {
    principal,
    method: r.method,
    server: { name: r.server, transport: server.transport },
    request: { time, transport: r.transport, sessionId: r.session, ...(r.profile !== undefined ? { profile: r.profile } : {}) },
    args: {},
  };
  const original = r.original;
  switch (r.method) {
    case 'tools/call':
      if (r.annotations === undefined) return fail('record-incomplete', 'no tool annotations');
      return withArgs(r, { ...base, tool: { name: original, annotations: r.annotations } });
    case 'prompts/get':
      return withArgs(r, { ...base, prompt: { name: original } });
    case 'completion/complete': {
      const kind = server.refKind?.(r.name ?? '', original);
      const asPrompt = { ...base, prompt: { name: original } };
      const asResource = { ...base, resource: { uri: original } };
      const inputs = kind === 'prompt' ? [asPrompt] : kind === 'resource' ? [asResource] : [asPrompt, asResource];
      return { ok: true, inputs, args: 'none' };
    }
    default:
      if (KIND_OF[r.method] !== 'resource') return fail('record-incomplete', `method ${r.method} is not one policy decides on its own`);
      return { ok: true, inputs: [{ ...base, resource: { uri: original } }], args: 'none' };
  }
}

/** A call's arguments: recorded, redacted, only digested, or none at all (no digest: the call had none). */
function withArgs(r: ReplayRecord, input: DecisionInput): PreparedInput {
  if (r.args === undefined) return { ok: true, inputs: [input], args: r.argsDigest === undefined ? 'none' : 'not-recorded' };
  if (typeof r.args !== 'object' || r.args === null || Array.isArray(r.args)) return fail('record-incomplete', 'recorded arguments are not an object');
  const args = r.args as Record<string, unknown>;
  // A value that reads "[redacted]" was sent so only if the digest of what was recorded is the digest of what was forwarded.
  const redacted = hasRedacted(args) && (r.argsDigest === undefined || canonicalHash(args) !== r.argsDigest);
  return { ok: true, inputs: [{ ...input, args }], args: redacted ? 'redacted' : 'recorded' };
}

const REDACTED = '[redacted]';

function hasRedacted(value: unknown): boolean {
  if (value === REDACTED) return true;
  if (typeof value !== 'object' || value === null) return false;
  return (Array.isArray(value) ? value : Object.values(value)).some(hasRedacted);
}

/**
 * The principal as decided on: id, kind and subject from the namespaced id,
 * scopes and groups as recorded. Claims are not recorded; API-key and stdio
 * principals carry fixed ones (core/principal.ts), rebuilt here; a JWT's are
 * unknown and left empty (replay.ts refuses to decide where a rule reads them).
 */
function principalOf(r: ReplayRecord): Principal | string {
  const parsed = parsePrincipalId(r.principal);
  if (!parsed || parsed.kind !== r.principalKind) return `principal "${r.principal}" is not a ${r.principalKind} id`;
  if (r.groups === undefined || r.scopes === undefined) return 'no groups or scopes (written by a gateway before replay could read them)';
  const spec = { id: parsed.subject, groups: r.groups, scopes: r.scopes };
  switch (parsed.kind) {
    case 'apikey':
      return apiKeyPrincipal(spec);
    case 'stdio':
      return stdioPrincipal(spec);
    case 'anonymous':
      return { ...ANONYMOUS, scopes: [...r.scopes], groups: [...r.groups], claims: {} };
    case 'jwt':
      return { id: r.principal, kind: 'jwt', subject: parsed.subject, scopes: [...r.scopes], groups: [...r.groups], claims: {} };
  }
}
