/**
 * `switchboard audit replay`, pure: every request an audit trail records,
 * decided again under a candidate policy set, and what would change. Lines
 * go in one by one (`line`), the report comes out (`report`); the caller
 * reads the files and the configuration.
 *
 * Policy only: rate limits are not replayed (a RATE_LIMITED record was
 * allowed by policy, and counts as allowed). Never a guess: a record is
 * re-decided only when every candidate rule that could apply to it can be
 * evaluated on what the record holds (replay-record.ts says what that is).
 */
import { appliesTo, KIND_OF, targets } from './evaluation.js';
import { PolicyEngine } from './engine.js';
import {
  classify,
  DEFAULT_RULE,
  prepareInput,
  ReplayRecordSchema,
  SKIP_LABELS,
  UNKNOWN_RULE,
  UNREPLAYABLE_LABELS,
  type ArgsState,
  type ReplayRecord,
  type ReplayServer,
  type SkipReason,
  type Unreplayable,
} from './replay-record.js';
import { add, Changes, example, sorted, type ReplayGroup, type ReplayReport } from './replay-report.js';
import type { CompiledRule, Decision, DecisionInput, PolicySet } from './types.js';

export { DEFAULT_RULE, UNKNOWN_RULE, type ReplayServer } from './replay-record.js';
export type { ChangeReport, ReplayExample, ReplayGroup, ReplayReport } from './replay-report.js';

export interface ReplayOptions {
  /** The candidate policy set. */
  set: PolicySet;
  defaultEffect: 'allow' | 'deny';
  trustedServers?: readonly string[];
  /** The configuration's servers, by name. */
  servers: ReadonlyMap<string, ReplayServer>;
  /** Examples kept per group (default 3). */
  examples?: number;
}

/** At most this many malformed lines are kept by position; all are counted. */
const MAX_MALFORMED_LINES = 20;

/** A condition that reads the principal's claims, which no record holds: a textual check of its source. */
const READS_CLAIMS = /\bprincipal\s*\.\s*claims\b/;

export class AuditReplay {
  private readonly engine: PolicyEngine;
  private readonly rules: CompiledRule[];
  private readonly keep: number;
  private readonly files: string[] = [];
  private readonly counts: ReplayReport['counts'] = {
    lines: 0,
    records: 0,
    reDecided: 0,
    unchanged: 0,
    ruleChanged: 0,
    newlyDenied: 0,
    newlyAllowed: 0,
    notReEvaluable: 0,
    skipped: 0,
    malformed: 0,
    otherLines: 0,
    rateLimited: 0,
    droppedByWriter: 0,
  };
  private readonly unreplayable = new Map<Unreplayable, ReplayGroup>();
  private readonly skips = new Map<SkipReason, { count: number; codes: Record<string, number> }>();
  private readonly malformed: ReplayReport['malformedLines'] = [];
  private readonly denied = new Changes();
  private readonly allowed = new Changes();

  constructor(private readonly options: ReplayOptions) {
    this.engine = new PolicyEngine(options.set, {
      defaultEffect: options.defaultEffect,
      ...(options.trustedServers ? { trustedServers: options.trustedServers } : {}),
    });
    // Shadow rules never decide, so they never stand in the way of deciding again.
    this.rules = options.set.rules.filter((r) => !r.shadow);
    this.keep = options.examples ?? 3;
  }

  /** One line of `file` (1-based `lineNo`); blank lines are nothing. */
  line(file: string, lineNo: number, text: string): void {
    if (!this.files.includes(file)) this.files.push(file);
    if (text.trim() === '') return;
    this.counts.lines++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.bad(file, lineNo, 'not JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return this.bad(file, lineNo, 'not a JSON object');
    const type = (value as { type?: unknown }).type;
    if (type !== 'audit') {
      this.counts.otherLines++;
      const dropped = (value as { dropped?: unknown }).dropped;
      if (type === 'audit-gap' && typeof dropped === 'number') this.counts.droppedByWriter += dropped;
      return;
    }
    const parsed = ReplayRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.bad(file, lineNo, `an audit record with ${issue ? `${issue.path.join('.') || 'it'}: ${issue.message}` : 'invalid fields'}`);
    }
    this.counts.records++;
    this.record(parsed.data);
  }

  private record(r: ReplayRecord): void {
    const c = classify(r);
    if (c.kind === 'skip') {
      this.counts.skipped++;
      const s = this.skips.get(c.reason) ?? { count: 0, codes: {} };
      s.count++;
      s.codes[c.code] = (s.codes[c.code] ?? 0) + 1;
      this.skips.set(c.reason, s);
      return;
    }
    const decided = this.decide(r);
    if (!decided.ok) {
      this.counts.notReEvaluable++;
      const g = this.unreplayable.get(decided.reason) ?? { count: 0, examples: [] };
      add(g, example(r, decided.detail), this.keep);
      this.unreplayable.set(decided.reason, g);
      return;
    }
    this.counts.reDecided++;
    if (r.code === 'RATE_LIMITED') this.counts.rateLimited++;
    const now = decided.decision;
    const rule = now.ruleId ?? DEFAULT_RULE;
    if (now.allowed === c.originalAllowed) {
      this.counts.unchanged++;
      if (c.originalRule !== UNKNOWN_RULE && rule !== c.originalRule) this.counts.ruleChanged++;
      return;
    }
    const detail = now.conditionError === undefined ? now.reason : `${now.reason} (${now.conditionError})`;
    if (now.allowed) {
      this.counts.newlyAllowed++;
      this.allowed.add(r, rule, c.originalRule, example(r, detail), this.keep);
    } else {
      this.counts.newlyDenied++;
      this.denied.add(r, rule, c.originalRule, example(r, detail), this.keep);
    }
  }

  /** The candidate's decision, or why there is none that can be trusted. */
  private decide(r: ReplayRecord): { ok: true; decision: Decision } | { ok: false; reason: Unreplayable; detail: string } {
    const prepared = prepareInput(r, this.options.servers);
    if (!prepared.ok) return prepared;
    const decisions: Decision[] = [];
    for (const input of prepared.inputs) {
      const blocked = this.blocked(input, prepared.args);
      if (blocked) return { ok: false, ...blocked };
      decisions.push(this.engine.decide(input));
    }
    const [first, second] = decisions as [Decision, Decision | undefined];
    if (second && (second.allowed !== first.allowed || second.ruleId !== first.ruleId)) {
      const detail = `as a prompt: ${first.allowed ? 'allow' : 'deny'}; as a resource: ${second.allowed ? 'allow' : 'deny'}`;
      return { ok: false, reason: 'completion-ref-unknown', detail };
    }
    return { ok: true, decision: first };
  }

  /** Whether a candidate rule that could apply reads what the record lacks. */
  private blocked(input: DecisionInput, args: ArgsState): { reason: Unreplayable; detail: string } | undefined {
    const rules = applicable(this.rules, input);
    const conditions = (r: CompiledRule) => [r.when, r.condition].filter((e) => e !== undefined);
    if (args === 'not-recorded' || args === 'redacted') {
      const reader = rules.find((r) => conditions(r).some((e) => e.usesArgs));
      if (reader) {
        const why = args === 'redacted' ? 'recorded with redacted values' : 'only their digest was recorded (audit.includeArgs is off)';
        return { reason: args === 'redacted' ? 'args-redacted' : 'args-not-recorded', detail: `rule "${reader.id}" reads args; ${why}` };
      }
    }
    if (input.principal.kind === 'jwt') {
      const reader = rules.find((r) => conditions(r).some((e) => READS_CLAIMS.test(e.source)));
      if (reader) return { reason: 'claims-not-recorded', detail: `rule "${reader.id}" reads principal.claims` };
    }
    return undefined;
  }

  private bad(file: string, line: number, reason: string): void {
    this.counts.malformed++;
    if (this.malformed.length < MAX_MALFORMED_LINES) this.malformed.push({ file, line, reason });
  }

  report(): ReplayReport {
    const notes = [
      'Policy only: rate limits are not replayed; a request a rate limit refused after policy allowed it counts as allowed.',
      'JWT claims are not recorded: a JWT caller\'s request is not re-decided when a rule that could apply to it has a condition whose source mentions "principal.claims" (a textual check).',
      'Requests are re-decided at the time recorded, which is when each finished.',
    ];
    const shadow = this.options.set.rules.filter((r) => r.shadow).length;
    if (shadow > 0) notes.push(`${shadow} shadow rule(s) (mode: shadow) of the candidate set are not enforced here, as they are not live.`);
    if (this.counts.droppedByWriter > 0)
      notes.push(`${this.counts.droppedByWriter} record(s) were dropped by the writer (audit-gap lines) and are not replayed.`);
    return {
      files: [...this.files],
      counts: { ...this.counts },
      notReEvaluable: sorted([...this.unreplayable].map(([reason, g]) => ({ reason, label: UNREPLAYABLE_LABELS[reason], ...g }))),
      skipped: sorted([...this.skips].map(([reason, s]) => ({ reason, label: SKIP_LABELS[reason], ...s }))),
      malformedLines: [...this.malformed],
      newlyDenied: this.denied.report(),
      newlyAllowed: this.allowed.report(),
      notes,
    };
  }
}

/**
 * The enforced rules that could apply to `input` whatever their conditions
 * say: server, method and target match, as the engine matches them (a
 * completion as the use of its ref, src/policy/engine.ts).
 */
export function applicable(rules: readonly CompiledRule[], input: DecisionInput): CompiledRule[] {
  const use = input.method === 'completion/complete' ? (input.prompt ? 'prompts/get' : 'resources/read') : input.method;
  const methods = use === input.method ? [use] : [use, input.method];
  const kind = KIND_OF[use];
  return rules.filter((r) => !r.shadow && appliesTo(r, input.server.name, methods, kind) && targets(r, kind, input));
}
