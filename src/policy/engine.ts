/**
 * The policy decision. Semantics (agentgateway's RuleSets, in this order):
 * any matching deny wins (read-only enforcement counts as a deny); every
 * applicable require must hold; then an approve rule (allowed once a person
 * approves, approve.ts); then any allow; otherwise the default (the
 * server's `mode`, else the gateway's `defaultEffect`). A list entry is
 * decided as the request that would use it, so a caller never sees what it
 * may not use. Shadow rules (`mode: shadow`) never take part in it; what
 * they would have done is reported beside it (`decision.shadow`, shadow.ts).
 * Pure and synchronous: no I/O, no clock.
 */
import { appliesTo, deny, Evaluation, KIND_OF, partition, targets, USE_METHOD, type Candidates, type Kind, type Outcome } from './evaluation.js';
import { approvePhase } from './approve.js';
import { ListsAlike } from './lists-alike.js';
import { readOnlyDenial } from './read-only.js';
import { settingIds } from './setting-ids.js';
import { shadowDecision, shadowOutcomes, ShadowRules, wouldAct } from './shadow.js';
import type { CompiledRateLimit, CompiledRule, Decision, DecisionInput, PolicySet, RateLimitSpec } from './types.js';

export interface EngineOptions {
  defaultEffect: 'allow' | 'deny';
  /** Servers whose tool annotations the gateway config trusts (besides `trustAnnotations` in policy). */
  trustedServers?: readonly string[];
}

/** Bounds the per-(server, method) index; method names come from clients. */
const MAX_INDEX_ENTRIES = 4096;

export class PolicyEngine {
  /** Every id a decision or a rate limit can carry: rules (incl. allowTools/denyTools) and the deciding settings. */
  readonly ruleIds: string[];
  /** The rules that decide: every rule but the shadow ones. */
  private readonly enforced: CompiledRule[];
  private readonly all: Candidates;
  private readonly index = new Map<string, Candidates>();
  private readonly alike: ListsAlike;
  private readonly trusted: ReadonlySet<string>;
  private readonly limited: CompiledRule[];
  /** Undefined without shadow rules: a decision then costs exactly what it did before they existed. */
  private readonly shadow: ShadowRules | undefined;

  constructor(
    private readonly set: PolicySet,
    private readonly options: EngineOptions,
  ) {
    this.enforced = set.rules.filter((r) => !r.shadow);
    this.all = partition(this.enforced);
    this.trusted = new Set(options.trustedServers ?? []);
    // Shadow rules spend no tokens (load refuses a rateLimit on one; this keeps it so for any set).
    this.limited = this.enforced.filter((r) => r.rateLimit.length > 0);
    this.shadow = ShadowRules.of(set.rules);
    this.alike = new ListsAlike(set, this.enforced);
    // Shadow rules included: their ids are metrics labels too.
    this.ruleIds = [...set.rules.map((r) => r.id), ...settingIds(set)];
  }

  /** The policy files this engine was built from. */
  get files(): readonly string[] {
    return this.set.files;
  }

  /** Load-time warnings of the policy set. */
  get warnings(): NonNullable<PolicySet['warnings']> {
    return this.set.warnings ?? [];
  }

  decide(input: DecisionInput, options: { listing?: boolean; explain?: boolean } = {}): Decision {
    const use = useMethodOf(input);
    const listing = options.listing ?? use !== undefined;
    const method = (listing ? use : undefined) ?? input.method;
    const kind = KIND_OF[method];
    const ev = new Evaluation(input, method, kind, listing, options.explain ?? false);
    const methods = method === input.method ? [method] : [method, input.method];
    const pool = ev.explain ? this.all : this.candidates(input.server.name, methods, kind);
    const decision = this.run(ev, pool, methods);
    return this.shadow === undefined ? decision : this.withShadow(this.shadow, decision, ev, methods);
  }

  /** The decision over `pool` (every rule when explaining, else those that can apply to this server and method). */
  private run(ev: Evaluation, pool: Candidates, methods: readonly string[]): Decision {
    const { input, kind } = ev;
    const scoped = (rule: CompiledRule): boolean => {
      const ok = (!ev.explain || appliesTo(rule, input.server.name, methods, kind)) && targets(rule, kind, input);
      if (!ok) ev.note(rule, 'not-matched');
      return ok;
    };
    if (!ev.explain) {
      return (
        this.denyPhase(ev, pool.deny, scoped) ??
        this.requirePhase(ev, pool.require, scoped) ??
        approvePhase(ev, pool.approve, scoped) ??
        this.allowPhase(ev, pool.allow, scoped) ??
        this.defaultDecision(ev)
      );
    }
    // Explaining: every phase runs so the trace shows every rule; the first decisive phase still decides.
    const denied = this.denyPhase(ev, pool.deny, scoped);
    const required = this.requirePhase(ev, pool.require, scoped);
    const approve = approvePhase(ev, pool.approve, scoped);
    const allowed = this.allowPhase(ev, pool.allow, scoped);
    return denied ?? required ?? approve ?? allowed ?? this.defaultDecision(ev);
  }

  /**
   * Adds `decision.shadow`: the shadow rules that would act, and, when one
   * would, the decision with them enforced (same semantics, same CEL context).
   * Explaining, that decision is always made, for its trace.
   */
  private withShadow(shadow: ShadowRules, decision: Decision, ev: Evaluation, methods: readonly string[]): Decision {
    const { input, kind, explain } = ev;
    const server = input.server.name;
    const pool = explain ? shadow.all : shadow.candidates(server, methods, kind);
    const rules = shadowOutcomes(ev, pool.shadow, (r) => (!explain || appliesTo(r, server, methods, kind)) && targets(r, kind, input));
    if (!explain && !rules.some(wouldAct)) {
      decision.shadow = { rules };
      return decision;
    }
    const fork = ev.fork();
    const would = this.run(fork, pool.combined, methods);
    decision.shadow = shadowDecision(decision, rules, would, explain ? fork.trace.filter((t) => shadow.ids.has(t.ruleId)) : undefined);
    return decision;
  }

  /**
   * The limits for an allowed request: the server's, then those of every
   * matching rule that has some. `sources[i]` says where `limits[i]` comes
   * from (`servers.everything.rateLimit[0]`, `<rule id>.rateLimit[1]`);
   * `ruleId` is the first one's rule (or `servers.<name>.rateLimit`). Keys
   * are prefixed with the source, so two limits never share a bucket by
   * accident.
   */
  rateLimitsFor(input: DecisionInput): { limits: RateLimitSpec[]; keys: string[]; ruleId?: string; sources: string[] } {
    const out = { limits: [] as RateLimitSpec[], keys: [] as string[], sources: [] as string[] };
    const kind = KIND_OF[input.method];
    const ev = new Evaluation(input, input.method, kind, false, false);
    let ruleId: string | undefined;
    const add = (owner: string, prefix: string, limits: CompiledRateLimit[]) => {
      ruleId ??= owner;
      limits.forEach((l, i) => {
        // A key that fails to evaluate falls back to the default key rather than to one shared bucket.
        const key = (l.keyExpr && ev.text(l.keyExpr)) ?? `${input.principal.id}/${input.server.name}`;
        const source = `${prefix}[${i}]`;
        out.limits.push(l.key === undefined ? { limit: l.limit, per: l.per } : { limit: l.limit, per: l.per, key: l.key });
        out.sources.push(source);
        out.keys.push(`${source}|${key}`);
      });
    };
    const name = input.server.name;
    const own = this.set.servers[name]?.rateLimit ?? [];
    if (own.length > 0) add(`servers.${name}.rateLimit`, `servers.${name}.rateLimit`, own);
    for (const rule of this.limited) {
      if (!appliesTo(rule, name, [input.method], kind) || !targets(rule, kind, input)) continue;
      // A condition that errors applies the limit (fail closed), like a deny.
      if (rule.when && ev.test(rule.when) === false) continue;
      add(rule.id, `${rule.id}.rateLimit`, rule.rateLimit);
    }
    return ruleId === undefined ? out : { ...out, ruleId };
  }

  /** Whether every caller sees the same `listMethod` entries of these servers (see lists-alike.ts). */
  listsAlike(listMethod: string, servers: readonly string[]): boolean {
    return this.alike.of(listMethod, servers);
  }

  private candidates(server: string, methods: string[], kind: Kind | undefined): Candidates {
    const key = `${server}\n${methods.join('\n')}`;
    let found = this.index.get(key);
    if (found) return found;
    if (this.index.size >= MAX_INDEX_ENTRIES) this.index.clear();
    found = partition(this.enforced.filter((r) => appliesTo(r, server, methods, kind)));
    this.index.set(key, found);
    return found;
  }

  private denyPhase(ev: Evaluation, rules: CompiledRule[], scoped: (r: CompiledRule) => boolean): Decision | undefined {
    let decided: Decision | undefined;
    for (const rule of rules) {
      if (!scoped(rule)) continue;
      // Fail closed: a deny whose condition cannot be evaluated on this
      // request (a wrong argument type, a missing key) denies. The caller
      // controls the input, so skipping it would let them choose to pass.
      const when = rule.when ? ev.test(rule.when) : true;
      if (when === false || when === 'unknown') {
        ev.noteSkipped(rule, when);
        continue;
      }
      if (typeof when === 'object') {
        ev.note(rule, 'condition-error', when.error, true);
        decided ??= {
          ...deny(ev, 'POLICY_DENIED', rule.id, `policy rule "${rule.id}" could not be evaluated on this request, so it denies${about(rule)}`),
          conditionError: when.error,
        };
      } else {
        ev.note(rule, 'matched', undefined, decided === undefined);
        decided ??= deny(ev, 'POLICY_DENIED', rule.id, `denied by policy rule "${rule.id}"${about(rule)}`);
      }
      if (!ev.explain) return decided;
    }
    const ro = readOnlyDenial(this.set, this.trusted, ev);
    if (ro) {
      ev.trace.push({ ruleId: ro.ruleId, effect: 'deny', outcome: 'matched', detail: ro.reason });
      decided ??= deny(ev, 'POLICY_DENIED', ro.ruleId, ro.reason);
    }
    return decided;
  }

  private requirePhase(ev: Evaluation, rules: CompiledRule[], scoped: (r: CompiledRule) => boolean): Decision | undefined {
    const have = ev.input.principal.scopes;
    let failed: Decision | undefined;
    let scopeRule: CompiledRule | undefined;
    const missing = new Set<string>();
    for (const rule of rules) {
      if (!scoped(rule)) continue;
      // An undecidable `when` (listing) skips the require: the entry may be usable. An error fails it.
      const when: Outcome = rule.when ? ev.test(rule.when) : true;
      if (when === false || when === 'unknown') {
        ev.noteSkipped(rule, when);
        continue;
      }
      const lacking = rule.scopes.filter((s) => !have.includes(s));
      const cond: Outcome = typeof when === 'object' ? when : rule.condition ? ev.test(rule.condition) : true;
      if (lacking.length === 0 && (cond === true || cond === 'unknown')) {
        ev.note(rule, 'held');
        continue;
      }
      if (cond === true || cond === 'unknown') {
        ev.note(rule, 'failed', `missing scopes: ${lacking.join(', ')}`, true);
        scopeRule ??= rule;
        for (const s of lacking) missing.add(s);
        continue;
      }
      const detail = typeof cond === 'object' ? `condition error: ${cond.error}` : 'condition is false';
      ev.note(rule, typeof cond === 'object' ? 'condition-error' : 'failed', detail, true);
      failed ??=
        typeof cond === 'object'
          ? {
              ...deny(ev, 'POLICY_DENIED', rule.id, `policy rule "${rule.id}" could not be evaluated on this request, so it denies${about(rule)}`),
              conditionError: cond.error,
            }
          : deny(ev, 'POLICY_DENIED', rule.id, `policy rule "${rule.id}" requires a condition that does not hold${about(rule)}`);
      if (!ev.explain) return failed;
    }
    // Scopes are reported only when they are all that is missing: getting them must help.
    if (failed || !scopeRule) return failed;
    const scopes = [...missing];
    const reason = `policy rule "${scopeRule.id}" requires the scope${scopes.length > 1 ? 's' : ''} ${scopes.join(', ')}`;
    return { ...deny(ev, 'INSUFFICIENT_SCOPE', scopeRule.id, reason), missingScopes: scopes };
  }

  private allowPhase(ev: Evaluation, rules: CompiledRule[], scoped: (r: CompiledRule) => boolean): Decision | undefined {
    let decided: Decision | undefined;
    for (const rule of rules) {
      if (!scoped(rule)) continue;
      // `unknown` only while listing: the entry is shown because some call may be allowed.
      const when = rule.when ? ev.test(rule.when) : true;
      if (when !== true && when !== 'unknown') {
        ev.noteSkipped(rule, when);
        continue;
      }
      ev.note(rule, 'matched', when === 'unknown' ? 'depends on args: may be allowed' : undefined, decided === undefined);
      decided ??= { allowed: true, ruleId: rule.id, reason: `allowed by policy rule "${rule.id}"`, trace: ev.trace };
      if (!ev.explain) return decided;
    }
    return decided;
  }

  private defaultDecision(ev: Evaluation): Decision {
    const name = ev.input.server.name;
    const mode = this.set.servers[name]?.mode;
    if (mode === 'allowlist') {
      return deny(ev, 'POLICY_DENIED', `servers.${name}.mode`, `server "${name}" is in allowlist mode and no policy rule allows this`);
    }
    if (mode === 'denylist' || this.options.defaultEffect === 'allow') {
      return { allowed: true, reason: 'no policy rule denies this', trace: ev.trace };
    }
    return deny(ev, 'POLICY_DENIED', undefined, 'no policy rule allows this and the default is to deny');
  }
}

/**
 * The method whose rules decide `input`: a list entry is decided as the call
 * that would use it, and a completion as the use of its ref (the values it
 * returns name what the prompt or template exposes).
 */
function useMethodOf(input: DecisionInput): string | undefined {
  if (input.method === 'completion/complete') return input.prompt ? 'prompts/get' : 'resources/read';
  return USE_METHOD[input.method];
}

const about = (rule: CompiledRule): string => (rule.description ? `: ${rule.description}` : '');
