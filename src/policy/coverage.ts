/**
 * Policy coverage, pure: which catalog entries some rule matches, which rules
 * can never match (dead) and which can never decide (shadowed by an
 * unconditional deny), judged against the catalog the upstreams serve now.
 * `when`, `condition` and scopes are not evaluated: a rule matches whatever
 * its `match` can select (servers, tools/prompts/resources, methods), in any
 * of the situations the engine decides an entry in (its call, its list entry,
 * a completion of it). Shadow rules (`mode: shadow`) never decide: they
 * neither cover an entry nor shadow another rule, but are judged dead or
 * shadowed like any rule. The audit side is coverage-audit.ts.
 */
import { auditCoverage, type AuditCoverage, type AuditTally } from './coverage-audit.js';
import { appliesTo, type Kind } from './evaluation.js';
import type { CompiledRule, Effect, Matcher, PolicySet } from './types.js';

export type { AuditCoverage, AuditTally } from './coverage-audit.js';

export type EntryKind = 'tool' | 'prompt' | 'resource' | 'resourceTemplate';

/** One item a server serves. */
export interface CatalogEntry {
  kind: EntryKind;
  server: string;
  /** The upstream's own name (tools, prompts), URI (resources) or URI template (resource templates). */
  name: string;
  /** As clients see it. */
  exposed?: string;
  /** Tool annotations (`readOnlyHint` counts for read-only servers that trust them). */
  annotations?: Record<string, unknown>;
}

export interface ServerNote {
  server: string;
  reason: string;
}

export interface CoverageInput {
  set: PolicySet;
  defaultEffect: 'allow' | 'deny';
  /** Servers whose annotations the gateway config trusts (besides `trustAnnotations` in policy). */
  trustedServers?: readonly string[];
  /** Servers whose lists were read: `entries` holds all they serve. */
  read: readonly string[];
  /** Enabled servers that could not be read (down, acting as each caller): what they serve is unknown. */
  unreadable: readonly ServerNote[];
  /** Configured servers that serve nothing here (disabled, or not configured yet). */
  offline: readonly ServerNote[];
  entries: readonly CatalogEntry[];
  audit?: AuditTally;
}

export interface EntryRef {
  kind: EntryKind;
  server: string;
  name: string;
  exposed?: string;
}

export interface UncoveredEntry extends EntryRef {
  /** `server-settings`: the server's `mode` or `readOnly` decides; `gateway-default`: `gateway.defaultEffect` does. */
  decidedBy: 'server-settings' | 'gateway-default';
  /** `servers.<name>.mode`, `servers.<name>.readOnly` or `gateway.defaultEffect`. */
  setting: string;
  effect: 'allow' | 'deny';
}

export interface RuleRef {
  ruleId: string;
  file: string;
  effect: Effect;
}

export interface JudgedRule extends RuleRef {
  reason: string;
}

export interface ShadowedRule extends JudgedRule {
  /** The unconditional denies (or `servers.<name>.readOnly`) that decide first. */
  by: string[];
}

export interface CoverageReport {
  conditionsEvaluated: false;
  notes: string[];
  servers: { read: string[]; unreadable: ServerNote[]; offline: ServerNote[] };
  totals: { entries: number; covered: number; uncovered: number; percent: number };
  /** `rules`: the enforced rules that match the entry; `shadowRules`: the `mode: shadow` ones, when any. */
  covered: (EntryRef & { rules: string[]; shadowRules?: string[] })[];
  uncovered: (UncoveredEntry & { shadowRules?: string[] })[];
  /** Rules that can never match: no configured or live server, or nothing the server serves. */
  deadRules: JudgedRule[];
  /** Rules that match something but never decide: an unconditional deny decides everything they match first. */
  shadowedRules: ShadowedRule[];
  /** Rules that would be dead or shadowed on the servers read, but also select a server that could not be read. */
  undeterminedRules: JudgedRule[];
  audit?: AuditCoverage;
}

/**
 * The share (0–100) of catalog entries some rule matches (derived
 * `allowTools`/`denyTools` rules count; a server's `mode` does not). An empty
 * catalog is 0: a gate on it fails rather than passing on nothing.
 */
export function coveragePercent(report: Pick<CoverageReport, 'totals'>): number {
  const { entries, covered } = report.totals;
  return entries === 0 ? 0 : (covered / entries) * 100;
}

/** The methods each decision about an entry runs under (engine.ts: a list entry or a completion is decided as its use). */
const SITUATIONS: Record<EntryKind, { kind: Kind; methods: readonly (readonly string[])[] }> = {
  tool: { kind: 'tool', methods: [['tools/call'], ['tools/call', 'tools/list']] },
  prompt: { kind: 'prompt', methods: [['prompts/get'], ['prompts/get', 'prompts/list'], ['prompts/get', 'completion/complete']] },
  resource: {
    kind: 'resource',
    methods: [['resources/read'], ['resources/subscribe'], ['resources/unsubscribe'], ['resources/read', 'resources/list']],
  },
  resourceTemplate: {
    kind: 'resource',
    methods: [['resources/read'], ['resources/read', 'resources/templates/list'], ['resources/read', 'completion/complete']],
  },
};

const KEY_OF = { tool: 'tools', prompt: 'prompts', resource: 'resources' } as const;

/** Whether `rule` selects `entry` when decided under `methods` (the engine's appliesTo + targets, without conditions). */
export function ruleSelects(rule: CompiledRule, entry: CatalogEntry, methods: readonly string[]): boolean {
  const { kind } = SITUATIONS[entry.kind];
  if (!appliesTo(rule, entry.server, methods, kind)) return false;
  const names = rule.match[KEY_OF[kind]];
  return names === undefined || names.test(entry.name);
}

/** Per entry and situation, the indices (in `set.rules`) of the rules that select it. */
interface Hits {
  entry: CatalogEntry;
  bySituation: number[][];
}

export function analyzeCoverage(input: CoverageInput): CoverageReport {
  const { set, entries } = input;
  const rules = set.rules;
  const hits: Hits[] = entries.map((entry) => ({
    entry,
    bySituation: SITUATIONS[entry.kind].methods.map((methods) => rules.flatMap((r, i) => (ruleSelects(r, entry, methods) ? [i] : []))),
  }));
  const covered: CoverageReport['covered'] = [];
  const uncovered: CoverageReport['uncovered'] = [];
  for (const { entry, bySituation } of hits) {
    const matched = [...new Set(bySituation.flat())].sort((a, b) => a - b).map((i) => rules[i]!);
    const ids = matched.filter((r) => !isShadow(r)).map((r) => r.id);
    const watching = matched.filter(isShadow).map((r) => r.id);
    const shadowRules = watching.length > 0 ? { shadowRules: watching } : {};
    if (ids.length > 0) covered.push({ ...refOf(entry), rules: ids, ...shadowRules });
    else uncovered.push({ ...refOf(entry), ...decidedWithoutRules(input, entry), ...shadowRules });
  }
  const report: CoverageReport = {
    conditionsEvaluated: false,
    notes: notesFor(set),
    servers: { read: [...input.read], unreadable: [...input.unreadable], offline: [...input.offline] },
    totals: { entries: entries.length, covered: covered.length, uncovered: uncovered.length, percent: 0 },
    covered,
    uncovered,
    deadRules: [],
    shadowedRules: [],
    undeterminedRules: [],
  };
  report.totals.percent = Math.round(coveragePercent(report) * 10) / 10;
  judgeRules(input, hits, report);
  if (input.audit) {
    const tools = entries.filter((e) => e.kind === 'tool').map(refOf);
    report.audit = auditCoverage(
      rules.map((r) => (isShadow(r) ? { ...ruleRef(r), shadow: true } : ruleRef(r))),
      tools,
      input.audit,
    );
  }
  return report;
}

function judgeRules(input: CoverageInput, hits: Hits[], report: CoverageReport): void {
  const rules = input.set.rules;
  const unreadable = new Set(input.unreadable.map((u) => u.server));
  rules.forEach((rule, r) => {
    const pairs = hits.flatMap(({ entry, bySituation }) => bySituation.filter((s) => s.includes(r)).map((s) => ({ entry, hits: s })));
    const unknown = [...unreadable].filter((s) => selectsServer(rule, s));
    const cannotTell = (why: string) =>
      report.undeterminedRules.push({ ...ruleRef(rule), reason: `${why}; but it also selects ${unknown.join(', ')}, which could not be read` });
    if (pairs.length === 0) {
      if (unknown.length === 0) report.deadRules.push({ ...ruleRef(rule), reason: deadReason(input, rule) });
      else cannotTell('it matches nothing on the servers read');
      return;
    }
    const by = shadowers(input, r, pairs);
    if (by === undefined) return;
    const reason =
      rule.effect === 'deny'
        ? 'an earlier deny without a condition matches everything it matches, and the first matching deny is the one that decides'
        : 'a deny without a condition matches everything it matches, and a matching deny decides before any require or allow, whatever the file order';
    if (unknown.length > 0) cannotTell(`shadowed on the servers read (${by.join(', ')})`);
    else report.shadowedRules.push({ ...ruleRef(rule), by, reason });
  });
}

/**
 * The rules (or read-only setting) that decide every situation rule `r`
 * matches before it can; undefined if some situation is left to it. A deny is
 * shadowed only by an earlier deny (file order picks the reported one); an
 * allow or require by any deny, and on tools by a read-only server's setting.
 * Only enforced unconditional denies shadow (a shadow rule decides nothing).
 */
function shadowers(input: CoverageInput, r: number, pairs: { entry: CatalogEntry; hits: number[] }[]): string[] | undefined {
  const rules = input.set.rules;
  const self = rules[r]!;
  const by = new Set<string>();
  for (const { entry, hits } of pairs) {
    const d = hits.find((i) => i !== r && decidesFirst(rules[i]!) && (self.effect !== 'deny' || i < r));
    if (d !== undefined) by.add(rules[d]!.id);
    else if (self.effect !== 'deny' && readOnlyDenies(input, entry)) by.add(`servers.${entry.server}.readOnly`);
    else return undefined;
  }
  return [...by];
}

/** Why a rule that matches no entry can never match. */
function deadReason(input: CoverageInput, rule: CompiledRule): string {
  const configured = [...input.read, ...input.unreadable.map((u) => u.server), ...input.offline.map((o) => o.server)];
  const servers = rule.match.servers;
  if (!configured.some((s) => selectsServer(rule, s)))
    return `its servers ${globs(servers)} match no configured server (a glob for servers added later matches nothing yet)`;
  const live = input.read.filter((s) => selectsServer(rule, s));
  if (live.length === 0) {
    const off = input.offline.filter((o) => selectsServer(rule, o.server)).map((o) => `${o.server} (${o.reason})`);
    return `it selects no live server: ${off.join(', ')} serve${off.length === 1 ? 's' : ''} nothing`;
  }
  const on = `${live.join(', ')}`;
  const m = rule.match;
  const named = (['tools', 'prompts', 'resources'] as const).filter((k) => m[k] !== undefined);
  if (named.length > 0) {
    const any = input.entries.some((e) => live.includes(e.server) && namedBy(m[KEY_OF[SITUATIONS[e.kind].kind]], e.name));
    if (!any) return `its ${named.map((k) => `${k} ${globs(m[k])}`).join(' and ')} match nothing that ${on} serve${live.length === 1 ? 's' : ''}`;
    return `its methods ${globs(m.methods)} never apply to the ${named.join(' or ')} it names`;
  }
  if (m.methods) return `its methods ${globs(m.methods)} apply to no tool, prompt or resource that ${on} serve${live.length === 1 ? 's' : ''}`;
  return `${on} serve${live.length === 1 ? 's' : ''} no tool, prompt or resource`;
}

/** `mode: shadow` (optional in CompiledRule): evaluated and reported, never enforced. */
const isShadow = (rule: CompiledRule): boolean => 'shadow' in rule && rule.shadow === true;
/** An enforced deny without a condition: whatever it matches is denied, by it or an earlier deny. */
const decidesFirst = (rule: CompiledRule): boolean => rule.effect === 'deny' && rule.when === undefined && !isShadow(rule);
const namedBy = (matcher: Matcher | undefined, name: string): boolean => matcher?.test(name) === true;
const selectsServer = (rule: CompiledRule, server: string): boolean => rule.match.servers === undefined || rule.match.servers.test(server);
const globs = (m: Matcher | undefined): string => (m ? JSON.stringify(m.globs) : '(any)');

/** Read-only enforcement (read-only.ts) on a tool of a read-only server, whoever calls. */
function readOnlyDenies(input: CoverageInput, entry: CatalogEntry): boolean {
  const policy = input.set.servers[entry.server];
  if (entry.kind !== 'tool' || !policy?.readOnly) return false;
  if (policy.readOnlyTools?.test(entry.name)) return false;
  const trusted = policy.trustAnnotations || (input.trustedServers ?? []).includes(entry.server);
  return !(trusted && entry.annotations?.readOnlyHint === true);
}

/** What decides an entry no rule matches: read-only enforcement, then the server's mode, then the gateway default. */
function decidedWithoutRules(input: CoverageInput, entry: CatalogEntry): Omit<UncoveredEntry, keyof EntryRef> {
  const name = entry.server;
  if (readOnlyDenies(input, entry)) return { decidedBy: 'server-settings', setting: `servers.${name}.readOnly`, effect: 'deny' };
  const mode = input.set.servers[name]?.mode;
  if (mode) return { decidedBy: 'server-settings', setting: `servers.${name}.mode`, effect: mode === 'allowlist' ? 'deny' : 'allow' };
  return { decidedBy: 'gateway-default', setting: 'gateway.defaultEffect', effect: input.defaultEffect };
}

function notesFor(set: PolicySet): string[] {
  const notes = [
    'Conditions (when, condition) and scopes are not evaluated: a rule counts as matching whatever its match selects; whether it then applies depends on the caller and the arguments.',
    'Judged against what the servers serve now: a rule for a tool added later may be reported dead today.',
    'Deny wins whatever the file order: any matching deny refuses before require and allow rules are looked at; among denies, the first in file order is reported.',
  ];
  if (set.rules.some(isShadow))
    notes.push('Shadow rules (mode: shadow) never decide: they cover no entry and shadow no rule ("shadowed" here means decided first by a deny).');
  const groups = Object.entries(set.groups).filter(([, g]) => g.readOnly);
  if (groups.length > 0)
    notes.push(`Group read-only settings (${groups.map(([g]) => `groups.${g}.readOnly`).join(', ')}) depend on the caller and are not counted.`);
  return notes;
}

const refOf = (e: CatalogEntry): EntryRef =>
  e.exposed === undefined ? { kind: e.kind, server: e.server, name: e.name } : { kind: e.kind, server: e.server, name: e.name, exposed: e.exposed };
const ruleRef = (r: CompiledRule): RuleRef => ({ ruleId: r.id, file: r.file, effect: r.effect });
