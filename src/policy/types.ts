/**
 * The policy engine's vocabulary: what a decision is asked about
 * (`DecisionInput`), what it answers (`Decision`), and the compiled form of a
 * policy set. Plain types only; nothing here imports a library.
 */

import type { Principal } from '../core/principal.js';

export type { Principal, PrincipalKind } from '../core/principal.js';

/** One request (or one list entry) to decide about. Names and URIs are the upstream's originals. */
export interface DecisionInput {
  principal: Principal;
  /** 'tools/call', 'tools/list', 'resources/read', ... */
  method: string;
  server: { name: string; transport: 'stdio' | 'http' | 'sse' };
  /** Original name. */
  tool?: { name: string; annotations?: Record<string, unknown> };
  /** Original URI (or URI template when listing templates). */
  resource?: { uri: string };
  prompt?: { name: string };
  /** The call's arguments; undefined when listing (args-dependent conditions then count as "may be allowed"). */
  args?: Record<string, unknown>;
  request: { time: Date; transport: string; sessionId: string; profile?: string };
}

export type Effect = 'allow' | 'deny' | 'require' | 'approve';

/** Who may approve a call: the caller themself, a member of a group, or one principal. */
export type Approver = { kind: 'self' } | { kind: 'group'; name: string } | { kind: 'principal'; id: string };

/** Whether a yes covers identical calls (same digest) afterwards. */
export type Remember = { kind: 'none' } | { kind: 'session' } | { kind: 'for'; ms: number };

/** What an `approve` rule asks for. */
export interface ApprovalSpec {
  approvers: Approver[];
  timeoutMs: number;
  /** CEL string expression shown to the approver. */
  message?: CompiledExpr;
  remember: Remember;
}

/** A decision that allows once approved: which rule, who, how long, what to show. */
export interface ApprovalRequirement {
  ruleId: string;
  approvers: Approver[];
  timeoutMs: number;
  remember: Remember;
  /** The rule's message for this request (absent when listing, when it has none, or when it failed to evaluate). */
  message?: string;
  /** Set when the message expression failed: the approver is shown a default message. */
  messageError?: string;
}

export interface RuleTrace {
  ruleId: string;
  effect: Effect;
  outcome: 'matched' | 'not-matched' | 'condition-false' | 'condition-error' | 'held' | 'failed';
  detail?: string;
}

export interface Decision {
  allowed: boolean;
  code?: 'POLICY_DENIED' | 'INSUFFICIENT_SCOPE';
  /** The rule (or derived setting id such as `servers.memory.mode`) that decided; absent for the gateway default. */
  ruleId?: string;
  /** For humans: safe to show the caller. */
  reason: string;
  missingScopes?: string[];
  /** Set when a deny or require could not be evaluated on this request and so denied (fail closed). */
  conditionError?: string;
  /** Every rule looked at with `explain`; otherwise only the entries that decided or failed. */
  trace: RuleTrace[];
  /** Set when an `approve` rule decided: `allowed` then means "allowed once approved". */
  approval?: ApprovalRequirement;
  /** Only when the policy set has shadow rules (`mode: shadow`): what they would have done. Never affects `allowed`. */
  shadow?: ShadowDecision;
}

/** A shadow rule that would have acted on this request (or could not be evaluated on it). */
export interface ShadowRuleOutcome {
  ruleId: string;
  effect: Effect;
  /**
   * `matched`: a deny or allow whose `when` held, a require that applies and does not hold.
   * `condition-error`: its `when` (or `condition`) failed to evaluate; a deny or require would then deny.
   */
  outcome: 'matched' | 'condition-error';
  /** Missing scopes, a false condition, or the evaluation error. */
  detail?: string;
}

/** What the decision would have been with the shadow rules enforced. */
export interface ShadowDecision {
  /** The shadow rules that matched (in file order); empty when none did. */
  rules: ShadowRuleOutcome[];
  /** Only when enforcing the shadow rules would change the decision (its effect, code or deciding rule). */
  would?: { allowed: boolean; ruleId?: string; code?: 'POLICY_DENIED' | 'INSUFFICIENT_SCOPE' };
  /** With `explain` only: every shadow rule looked at, with its outcome, as in `trace`. */
  trace?: RuleTrace[];
}

export interface RateLimitSpec {
  limit: number;
  per: 'second' | 'minute' | 'hour' | 'day';
  /** CEL string expression; default `principal.id + '/' + server.name`. */
  key?: string;
}

/** A compiled glob list. */
export interface Matcher {
  readonly globs: readonly string[];
  test(value: string): boolean;
}

/** A type-checked CEL expression, ready to evaluate. */
export interface CompiledExpr {
  readonly source: string;
  /** True if it reads `args`: such conditions cannot be decided when listing. */
  readonly usesArgs: boolean;
  /** Throws on evaluation errors (e.g. a missing map key). */
  evaluate(context: unknown): unknown;
}

export interface CompiledRateLimit extends RateLimitSpec {
  /** Compiled `key`; absent means the default key. */
  keyExpr?: CompiledExpr;
}

export interface RuleMatch {
  servers?: Matcher;
  tools?: Matcher;
  prompts?: Matcher;
  resources?: Matcher;
  methods?: Matcher;
}

export interface CompiledRule {
  id: string;
  /** The policy file it came from. */
  file: string;
  description?: string;
  effect: Effect;
  match: RuleMatch;
  when?: CompiledExpr;
  /** `require` only: every one must be in principal.scopes. */
  scopes: string[];
  /** `require` only: must evaluate to true. */
  condition?: CompiledExpr;
  rateLimit: CompiledRateLimit[];
  /** `approve` only. */
  approval?: ApprovalSpec;
  /** `mode: shadow`: evaluated and reported (`Decision.shadow`), never enforced; no rate limit. */
  shadow?: boolean;
}

export interface ServerPolicy {
  /** Unset: the gateway's defaultEffect decides. */
  mode?: 'allowlist' | 'denylist';
  readOnly: boolean;
  /** Tools this policy declares read-only. */
  readOnlyTools?: Matcher;
  /** Believe this server's `readOnlyHint` annotations. */
  trustAnnotations: boolean;
  rateLimit: CompiledRateLimit[];
}

export interface GroupPolicy {
  readOnly?: boolean;
  /** Where the group's read-only setting applies; absent means every server. */
  servers?: Matcher;
}

/** Every policy file of a directory, compiled. `allowTools`/`denyTools` appear in `rules` as derived rules. */
export interface PolicySet {
  files: string[];
  /** What loads but may not mean what its author thinks (shown by validate, logged at load). */
  warnings?: { file: string; path: string; message: string; fix?: string }[];
  rules: CompiledRule[];
  servers: Record<string, ServerPolicy>;
  groups: Record<string, GroupPolicy>;
}
