/**
 * Shadow rules (`mode: shadow`): evaluated on live traffic, never enforced,
 * so a rule can be watched before it is switched on. The engine decides
 * without them (as if they were absent); when the set has some, it then asks
 * which of them would have acted on the request (`rules`) and, only if one
 * would have, decides again with them enforced (`would`, reported when it
 * differs). A set without shadow rules never reaches this file.
 */
import { partition, type Candidates, type Evaluation, type Kind, appliesTo } from './evaluation.js';
import type { CompiledRule, Decision, RuleTrace, ShadowDecision, ShadowRuleOutcome } from './types.js';

/** Bounds the per-(server, method) index, like the engine's. */
const MAX_INDEX_ENTRIES = 4096;

/** What can apply to one (server, methods): the shadow rules, and every rule with the shadow ones enforced. */
export interface ShadowCandidates {
  shadow: CompiledRule[];
  combined: Candidates;
}

export class ShadowRules {
  /** Ids of the shadow rules (to pick their entries out of an explained trace). */
  readonly ids: ReadonlySet<string>;
  /** Every rule: what `explain` goes through. */
  readonly all: ShadowCandidates;
  private readonly index = new Map<string, ShadowCandidates>();

  private constructor(private readonly rules: readonly CompiledRule[]) {
    const shadow = rules.filter((r) => r.shadow);
    this.ids = new Set(shadow.map((r) => r.id));
    this.all = { shadow, combined: partition(rules) };
  }

  /** Undefined when no rule is a shadow rule: the engine then does nothing more per decision. */
  static of(rules: readonly CompiledRule[]): ShadowRules | undefined {
    return rules.some((r) => r.shadow) ? new ShadowRules(rules) : undefined;
  }

  candidates(server: string, methods: readonly string[], kind: Kind | undefined): ShadowCandidates {
    const key = `${server}\n${methods.join('\n')}`;
    let found = this.index.get(key);
    if (found) return found;
    if (this.index.size >= MAX_INDEX_ENTRIES) this.index.clear();
    const applicable = this.rules.filter((r) => appliesTo(r, server, methods, kind));
    found = { shadow: applicable.filter((r) => r.shadow), combined: partition(applicable) };
    this.index.set(key, found);
    return found;
  }
}

/**
 * The shadow rules among `rules` (in file order) that would act on this
 * request if enforced, by the engine's own semantics; `scoped` says whether
 * a rule names the request's tool, prompt or resource.
 */
export function shadowOutcomes(ev: Evaluation, rules: readonly CompiledRule[], scoped: (rule: CompiledRule) => boolean): ShadowRuleOutcome[] {
  const out: ShadowRuleOutcome[] = [];
  for (const rule of rules) {
    if (!scoped(rule)) continue;
    const found = outcomeOf(ev, rule);
    if (found) out.push(found);
  }
  return out;
}

function outcomeOf(ev: Evaluation, rule: CompiledRule): ShadowRuleOutcome | undefined {
  const when = rule.when ? ev.test(rule.when) : true;
  if (typeof when === 'object') return entry(rule, 'condition-error', when.error);
  if (when === false) return undefined;
  if (rule.effect === 'allow') return entry(rule, 'matched', when === 'unknown' ? 'depends on args: may be allowed' : undefined);
  // While listing, a deny or require `when` that reads args is undecided: it hides nothing.
  if (when === 'unknown') return undefined;
  if (rule.effect === 'deny') return entry(rule, 'matched');
  const cond = rule.condition ? ev.test(rule.condition) : true;
  if (typeof cond === 'object') return entry(rule, 'condition-error', cond.error);
  if (cond === false) return entry(rule, 'matched', 'condition is false');
  const have = ev.input.principal.scopes;
  const lacking = rule.scopes.filter((s) => !have.includes(s));
  return lacking.length > 0 ? entry(rule, 'matched', `missing scopes: ${lacking.join(', ')}`) : undefined;
}

function entry(rule: CompiledRule, outcome: ShadowRuleOutcome['outcome'], detail?: string): ShadowRuleOutcome {
  const e: ShadowRuleOutcome = { ruleId: rule.id, effect: rule.effect, outcome };
  if (detail !== undefined) e.detail = detail;
  return e;
}

/**
 * Whether an outcome would have acted if enforced: a match, or a deny or
 * require that could not be evaluated (it fails closed). An allow that could
 * not be evaluated allows nothing. What the shadow-decision metric counts.
 */
export const wouldAct = (o: ShadowRuleOutcome): boolean => o.outcome === 'matched' || o.effect !== 'allow';

/** `decision.shadow`: `would` only when `would` (decided with the shadow rules enforced) differs from `decision`. */
export function shadowDecision(decision: Decision, rules: ShadowRuleOutcome[], would: Decision | undefined, trace?: RuleTrace[]): ShadowDecision {
  const shadow: ShadowDecision = { rules };
  if (would && (would.allowed !== decision.allowed || would.ruleId !== decision.ruleId || would.code !== decision.code)) {
    shadow.would = { allowed: would.allowed };
    if (would.ruleId !== undefined) shadow.would.ruleId = would.ruleId;
    if (would.code !== undefined) shadow.would.code = would.code;
  }
  if (trace) shadow.trace = trace;
  return shadow;
}
