/**
 * The state of one decision: the request, the method it is really about, the
 * CEL context (built only when a condition is first needed) and the trace.
 * Also the two matching steps every rule goes through: whether it applies to
 * this kind of request at all (`appliesTo`, cacheable per server and method)
 * and whether it names this tool, prompt or resource (`targets`).
 */
import { celContext } from './cel.js';
import type { CompiledExpr, CompiledRule, Decision, DecisionInput, RuleTrace } from './types.js';

export type Kind = 'tool' | 'prompt' | 'resource';

/** A list entry is decided as the request that would use it. */
export const USE_METHOD: Readonly<Record<string, string>> = {
  'tools/list': 'tools/call',
  'prompts/list': 'prompts/get',
  'resources/list': 'resources/read',
  'resources/templates/list': 'resources/read',
};

/** The methods that tool, prompt and resource rules apply to. */
export const KIND_OF: Readonly<Record<string, Kind>> = {
  'tools/call': 'tool',
  'prompts/get': 'prompt',
  'resources/read': 'resource',
  'resources/subscribe': 'resource',
  'resources/unsubscribe': 'resource',
};

/** A set of rules by effect, each in file order: what one decision phase goes through. */
export interface Candidates {
  deny: CompiledRule[];
  require: CompiledRule[];
  approve: CompiledRule[];
  allow: CompiledRule[];
}

export function partition(rules: readonly CompiledRule[]): Candidates {
  return {
    deny: rules.filter((r) => r.effect === 'deny'),
    require: rules.filter((r) => r.effect === 'require'),
    approve: rules.filter((r) => r.effect === 'approve'),
    allow: rules.filter((r) => r.effect === 'allow'),
  };
}

/** `unknown`: the condition reads `args` and we are listing, so it cannot be decided. */
export type Outcome = true | false | 'unknown' | { error: string };

/**
 * Server, method and kind: everything about a rule that depends only on
 * (server, method, listing), so the engine can pre-filter rules per pair.
 * When listing, `methods` may name either the list method or the one that
 * would use the entry (`tools/list` or `tools/call`).
 */
export function appliesTo(rule: CompiledRule, server: string, methods: readonly string[], kind: Kind | undefined): boolean {
  const m = rule.match;
  if (m.servers && !m.servers.test(server)) return false;
  if (m.methods && !methods.some((x) => m.methods!.test(x))) return false;
  if (!m.tools && !m.prompts && !m.resources) return true;
  if (kind === 'tool') return m.tools !== undefined;
  if (kind === 'prompt') return m.prompts !== undefined;
  if (kind === 'resource') return m.resources !== undefined;
  return false;
}

/** Whether a rule that applies names this request's tool, prompt or resource (true if it names none). */
export function targets(rule: CompiledRule, kind: Kind | undefined, input: DecisionInput): boolean {
  const m = rule.match;
  if (kind === 'tool' && m.tools) return input.tool !== undefined && m.tools.test(input.tool.name);
  if (kind === 'prompt' && m.prompts) return input.prompt !== undefined && m.prompts.test(input.prompt.name);
  if (kind === 'resource' && m.resources) return input.resource !== undefined && m.resources.test(input.resource.uri);
  return true;
}

export class Evaluation {
  readonly trace: RuleTrace[] = [];
  private ctx: Record<string, unknown> | undefined;

  constructor(
    readonly input: DecisionInput,
    /** The method decided about (for a list entry, the one that would use it). */
    readonly method: string,
    readonly kind: Kind | undefined,
    readonly listing: boolean,
    readonly explain: boolean,
  ) {}

  /** Another decision about the same request (with the shadow rules enforced), sharing the CEL context and nothing else. */
  fork(): Evaluation {
    const ev = new Evaluation(this.input, this.method, this.kind, this.listing, this.explain);
    ev.ctx = this.ctx;
    return ev;
  }

  /** Evaluates a bool condition; run-time errors are outcomes, not exceptions. */
  test(expr: CompiledExpr): Outcome {
    if (this.listing && expr.usesArgs) return 'unknown';
    try {
      const value = expr.evaluate((this.ctx ??= celContext(this.input, this.method)));
      return typeof value === 'boolean' ? value : { error: `the condition returned ${typeof value}, not a bool` };
    } catch (err) {
      return { error: (err as Error).message.split('\n')[0] ?? String(err) };
    }
  }

  /** Evaluates a string expression (a rate-limit key); undefined on error. */
  text(expr: CompiledExpr): string | undefined {
    try {
      const value = expr.evaluate((this.ctx ??= celContext(this.input, this.method)));
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records a trace entry; only `always` ones without `explain` (what decided, what failed, errors). */
  note(rule: CompiledRule, outcome: RuleTrace['outcome'], detail?: string, always = false): void {
    if (!this.explain && !always) return;
    const entry: RuleTrace = { ruleId: rule.id, effect: rule.effect, outcome };
    if (detail !== undefined) entry.detail = detail;
    this.trace.push(entry);
  }

  /** Records the outcome of a `when` that did not make the rule apply. */
  noteSkipped(rule: CompiledRule, outcome: Outcome): void {
    if (typeof outcome === 'object') this.note(rule, 'condition-error', outcome.error, true);
    else if (outcome === 'unknown') this.note(rule, 'condition-false', 'depends on args: undecided while listing');
    else this.note(rule, 'condition-false');
  }
}

/** A denial carrying the trace so far. */
export function deny(ev: Evaluation, code: 'POLICY_DENIED' | 'INSUFFICIENT_SCOPE', ruleId: string | undefined, reason: string): Decision {
  return ruleId === undefined ? { allowed: false, code, reason, trace: ev.trace } : { allowed: false, code, ruleId, reason, trace: ev.trace };
}
