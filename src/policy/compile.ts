/**
 * One validated policy file → compiled rules, server settings and group
 * settings. Globs become matchers and CEL is parsed and type-checked here,
 * once, so nothing is compiled per request. Problems are reported through
 * `add` (all of them, not just the first).
 */
import { compileCel } from './cel.js';
import { compileGlobs } from './glob.js';
import { celIssue, type Add, type Segs } from './issues.js';
import type { PolicyFile, RuleInput, ServerPolicyInput } from './schema.js';
import type { ApprovalSpec, Approver, CompiledExpr, CompiledRateLimit, CompiledRule, GroupPolicy, Matcher, RateLimitSpec, RuleMatch } from './types.js';

/** The settings one file gives one server; merged across files by load.ts. */
export interface ServerParts {
  mode?: 'allowlist' | 'denylist';
  readOnly?: boolean;
  readOnlyTools?: Matcher;
  trustAnnotations?: boolean;
  allowTools?: Matcher;
  denyTools?: Matcher;
  rateLimit?: CompiledRateLimit[];
}

export interface FileParts {
  file: string;
  /** With the index each had in the file (for duplicate-id issues). */
  rules: { rule: CompiledRule; index: number }[];
  servers: Record<string, ServerParts>;
  groups: Record<string, GroupPolicy>;
}

/** Prefixes of the ids the engine derives from settings (servers.<name>.allowTools, groups.<g>.readOnly, ...). */
export const RESERVED_ID_PREFIXES = ['servers.', 'groups.'] as const;

/** A file's content; `rules` may have holes where a rule failed validation (indices stay those of the file). */
export type FileInput = Omit<PolicyFile, 'rules'> & { rules?: (RuleInput | undefined)[] };

export function compileFile(data: FileInput, file: string, add: Add): FileParts {
  const parts: FileParts = { file, rules: [], servers: {}, groups: {} };
  (data.rules ?? []).forEach((raw, index) => {
    if (raw === undefined) return;
    const rule = compileRule(raw, ['rules', index], file, add);
    if (rule) parts.rules.push({ rule, index });
  });
  for (const [name, raw] of Object.entries(data.servers ?? {})) {
    parts.servers[name] = compileServer(raw, ['servers', name], add);
  }
  for (const [name, raw] of Object.entries(data.groups ?? {})) {
    const group: GroupPolicy = {};
    if (raw.readOnly !== undefined) group.readOnly = raw.readOnly;
    if (raw.servers) group.servers = compileGlobs(raw.servers);
    if (raw.servers && !raw.readOnly) {
      add(['groups', name, 'servers'], '"servers" only narrows "readOnly", which is not set', 'add "readOnly: true" or remove "servers"');
    }
    parts.groups[name] = group;
  }
  return parts;
}

/** Compiles `source` or reports why not; undefined on failure. */
export function compileExpr(source: string, want: 'bool' | 'string', segs: Segs, add: Add): CompiledExpr | undefined {
  const result = compileCel(source, want);
  if (result.ok) return result.expr;
  const { message, fix } = celIssue(result.error, source, want);
  add(segs, message, fix);
  return undefined;
}

function compileRule(raw: RuleInput, segs: Segs, file: string, add: Add): CompiledRule | undefined {
  let ok = checkRuleShape(raw, segs, add);
  const cel = (source: string | undefined, key: string) => {
    if (source === undefined) return undefined;
    const expr = compileExpr(source, 'bool', [...segs, key], add);
    if (!expr) ok = false;
    return expr;
  };
  const when = cel(raw.when, 'when');
  const condition = cel(raw.condition, 'condition');
  const rateLimit = compileLimits(raw.rateLimit, [...segs, 'rateLimit'], add);
  const approval = raw.effect === 'approve' ? compileApproval(raw, segs, add) : undefined;
  if (!ok || !rateLimit || (raw.effect === 'approve' && !approval)) return undefined;
  const rule: CompiledRule = { id: raw.id, file, effect: raw.effect, match: compileMatch(raw.match), scopes: raw.scopes ?? [], rateLimit };
  if (approval) rule.approval = approval;
  if (raw.mode === 'shadow') rule.shadow = true;
  if (raw.description !== undefined) rule.description = raw.description;
  if (when) rule.when = when;
  if (condition) rule.condition = condition;
  return rule;
}

/** The checks zod cannot express per field: which keys go with which effect or mode, reserved ids. */
function checkRuleShape(raw: RuleInput, segs: Segs, add: Add): boolean {
  let ok = true;
  const report: Add = (s, m, f) => {
    ok = false;
    add(s, m, f);
  };
  if (RESERVED_ID_PREFIXES.some((p) => raw.id.startsWith(p)))
    report([...segs, 'id'], `rule ids starting with ${RESERVED_ID_PREFIXES.map((p) => `"${p}"`).join(' or ')} are reserved for settings`, 'rename the rule');
  if (raw.effect === 'require' && raw.scopes === undefined && raw.condition === undefined)
    report(segs, 'a "require" rule needs "scopes", "condition" or both', 'add "scopes: [ … ]" or "condition: …"');
  for (const key of ['scopes', 'condition'] as const) {
    if (raw.effect !== 'require' && raw[key] !== undefined) {
      const fix = key === 'condition' ? 'use "when" for a condition on an allow or deny rule' : 'remove it, or set "effect: require"';
      report([...segs, key], `"${key}" applies only to "effect: require" (this rule is "${raw.effect}")`, fix);
    }
  }
  if (raw.effect === 'approve' && raw.approvers === undefined)
    report(segs, 'an "approve" rule needs "approvers"', 'add "approvers: self", "approvers: group:<name>" or "approvers: principal:<id>"');
  for (const key of ['approvers', 'timeout', 'message', 'remember'] as const) {
    if (raw.effect !== 'approve' && raw[key] !== undefined)
      report([...segs, key], `"${key}" applies only to "effect: approve" (this rule is "${raw.effect}")`, 'remove it, or set "effect: approve"');
  }
  if (raw.effect === 'approve' && raw.mode === 'shadow')
    report([...segs, 'mode'], 'an "approve" rule cannot be a shadow rule: it would ask nobody', 'remove "mode: shadow"');
  // A shadow rule is never enforced, so it could not spend tokens without enforcing something.
  if (raw.mode === 'shadow' && raw.rateLimit !== undefined)
    report([...segs, 'rateLimit'], 'a shadow rule (mode: shadow) has no rate limit: it is never enforced', 'remove "rateLimit", or set "mode: enforce"');
  return ok;
}

/** `approvers`, `timeout`, `message` and `remember` of an approve rule; undefined when its message fails to compile. */
function compileApproval(raw: RuleInput, segs: Segs, add: Add): ApprovalSpec | undefined {
  const specs = raw.approvers === undefined ? [] : Array.isArray(raw.approvers) ? raw.approvers : [raw.approvers];
  const approvers = specs.map(approverOf);
  const spec: ApprovalSpec = {
    approvers,
    timeoutMs: raw.timeout === undefined ? DEFAULT_APPROVAL_TIMEOUT_MS : durationMs(raw.timeout),
    remember:
      raw.remember === undefined || raw.remember === 'none'
        ? { kind: 'none' }
        : raw.remember === 'session'
          ? { kind: 'session' }
          : { kind: 'for', ms: durationMs(raw.remember) },
  };
  if (raw.message === undefined) return approvers.length > 0 ? spec : undefined;
  const message = compileExpr(raw.message, 'string', [...segs, 'message'], add);
  if (!message) return undefined;
  spec.message = message;
  return approvers.length > 0 ? spec : undefined;
}

const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration the schema has checked (`30s`, `5m`) in milliseconds. */
export function durationMs(text: string): number {
  const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(text)!;
  return Number(amount) * UNIT_MS[unit!]!;
}

function approverOf(spec: string): Approver {
  if (spec === 'self') return { kind: 'self' };
  if (spec.startsWith('group:')) return { kind: 'group', name: spec.slice('group:'.length) };
  return { kind: 'principal', id: spec.slice('principal:'.length) };
}

function compileMatch(raw: RuleInput['match']): RuleMatch {
  const match: RuleMatch = {};
  if (!raw) return match;
  for (const key of ['servers', 'tools', 'prompts', 'resources', 'methods'] as const) {
    const globs = raw[key];
    if (globs) match[key] = compileGlobs(globs);
  }
  return match;
}

/** Undefined when a key expression fails to compile (the issue is reported). */
export function compileLimits(raws: RateLimitSpec[] | undefined, segs: Segs, add: Add): CompiledRateLimit[] | undefined {
  let ok = true;
  const limits = (raws ?? []).map((raw, i): CompiledRateLimit => {
    const limit: CompiledRateLimit = { limit: raw.limit, per: raw.per };
    if (raw.key === undefined) return limit;
    limit.key = raw.key;
    const keyExpr = compileExpr(raw.key, 'string', [...segs, i, 'key'], add);
    if (keyExpr) limit.keyExpr = keyExpr;
    else ok = false;
    return limit;
  });
  return ok ? limits : undefined;
}

function compileServer(raw: ServerPolicyInput, segs: Segs, add: Add): ServerParts {
  const parts: ServerParts = {};
  if (raw.mode !== undefined) parts.mode = raw.mode;
  if (raw.readOnly !== undefined) parts.readOnly = raw.readOnly;
  if (raw.trustAnnotations !== undefined) parts.trustAnnotations = raw.trustAnnotations;
  if (raw.readOnlyTools) parts.readOnlyTools = compileGlobs(raw.readOnlyTools);
  if (raw.allowTools) parts.allowTools = compileGlobs(raw.allowTools);
  if (raw.denyTools) parts.denyTools = compileGlobs(raw.denyTools);
  const limits = compileLimits(raw.rateLimit, [...segs, 'rateLimit'], add);
  if (raw.rateLimit && limits) parts.rateLimit = limits;
  return parts;
}
