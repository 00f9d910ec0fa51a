/**
 * Policy tests (cel-go's policy `tests.yaml`, simplified): `*.tests.yaml`
 * beside the policy files holds named cases, each a principal and a request
 * with the expected effect (and optionally rule id and code, and the
 * decision with the shadow rules enforced). Run by the unit tests and by
 * `switchboard policy test`.
 */
import path from 'node:path';
import { ANONYMOUS } from '../core/principal.js';
import { principalFromInput } from '../core/principal-input.js';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import type { PolicyEngine } from './engine.js';
import { collector, mapZodIssue, type Add } from './issues.js';
import { isPolicyTestsFile, listDir, parseYaml, readText, type KnownNames } from './load.js';
import { PolicyTestsFileSchema, type PolicyTestsFile } from './schema.js';
import type { Approver, Decision, DecisionInput, Principal } from './types.js';

export interface PolicyTestOutcome {
  effect: 'allow' | 'deny' | 'approval-required';
  ruleId?: string;
  code?: string;
  /** approval-required: who may approve (`self`, `group:<name>`, `principal:<id>`). */
  approvers?: string[];
}

export interface PolicyTestExpectation extends PolicyTestOutcome {
  /** The decision with the shadow rules (`mode: shadow`) enforced; `shadow: deny` in a file is `{ effect: deny }`. */
  shadow?: PolicyTestOutcome;
}

export interface PolicyTestCase {
  name: string;
  /** Resolved: the namespaced id, kind and subject filled in (default `apikey:test`). */
  principal: Principal;
  /** The request with every default filled in. */
  request: Omit<DecisionInput, 'principal'>;
  /** Decide as for a list entry. */
  listing?: boolean;
  expect: PolicyTestExpectation;
}

export interface PolicyTestSuite {
  file: string;
  cases: PolicyTestCase[];
}

export interface PolicyTestResult {
  file: string;
  name: string;
  passed: boolean;
  expected: PolicyTestExpectation;
  /** `shadow`: when the case expects one or the set has shadow rules; `shadowRules` then lists those that matched. */
  actual: PolicyTestOutcome & { reason: string; shadow?: PolicyTestOutcome; shadowRules?: string[] };
  /** One line per expectation that did not hold; empty when passed. */
  diff: string[];
}

/** Requests in tests happen at a fixed time unless they say otherwise, so results never depend on the day. */
export const DEFAULT_TEST_TIME = '2026-01-01T00:00:00Z';

/** Every `*.tests.yaml` in `dir`, sorted; a missing directory has none. Throws one ConfigError for all files. */
export function loadPolicyTests(dir: string | false): PolicyTestSuite[] {
  if (dir === false) return [];
  const abs = path.resolve(dir);
  const issues: ConfigIssue[] = [];
  const suites: PolicyTestSuite[] = [];
  for (const name of listDir(abs, isPolicyTestsFile) ?? []) {
    const file = path.join(abs, name);
    const text = readText(file, issues);
    const suite = text === undefined ? undefined : parseTests(text, file, issues);
    if (suite) suites.push(suite);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return suites;
}

export function parsePolicyTestsText(text: string, file: string): PolicyTestSuite {
  const issues: ConfigIssue[] = [];
  const suite = parseTests(text, file, issues);
  if (issues.length > 0 || !suite) throw new ConfigError(issues);
  return suite;
}

function parseTests(text: string, file: string, issues: ConfigIssue[]): PolicyTestSuite | undefined {
  const raw = parseYaml(text, file, issues);
  if (raw === undefined) return undefined;
  const add = collector(file, raw, issues);
  const result = PolicyTestsFileSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) mapZodIssue(issue, raw, add, PolicyTestsFileSchema);
    return undefined;
  }
  const cases = result.data.cases.map((c, i) => toCase(c, i, add));
  const names = new Set<string>();
  cases.forEach((c, i) => {
    if (names.has(c.name)) add(['cases', i, 'name'], `duplicate case name "${c.name}"`, 'give every case its own name');
    names.add(c.name);
  });
  return { file, cases };
}

type RawCase = PolicyTestsFile['cases'][number];

function toCase(raw: RawCase, i: number, add: Add): PolicyTestCase {
  const r = raw.request;
  const time = new Date(r.time ?? DEFAULT_TEST_TIME);
  if (Number.isNaN(time.getTime())) add(['cases', i, 'request', 'time'], 'not a date', 'write an ISO 8601 time, e.g. "2026-01-01T09:00:00Z"');
  const request: PolicyTestCase['request'] = {
    method: r.method ?? 'tools/call',
    server: typeof r.server === 'string' ? { name: r.server, transport: 'stdio' } : { name: r.server.name, transport: r.server.transport ?? 'stdio' },
    request: { time, transport: r.transport ?? 'stdio', sessionId: r.sessionId ?? 'test', ...(r.profile !== undefined ? { profile: r.profile } : {}) },
  };
  if (r.tool !== undefined) request.tool = typeof r.tool === 'string' ? { name: r.tool } : { ...r.tool };
  if (r.prompt !== undefined) request.prompt = typeof r.prompt === 'string' ? { name: r.prompt } : { ...r.prompt };
  if (r.resource !== undefined) request.resource = typeof r.resource === 'string' ? { uri: r.resource } : { ...r.resource };
  // A call without arguments has empty ones; a list entry has none at all.
  if (!r.listing) request.args = r.args ?? {};
  const who = principalFromInput(raw.principal ?? {});
  if (!who.ok) add(['cases', i, 'principal', who.key], who.message, who.fix);
  // A case with a broken principal is reported above and never runs.
  const { shadow, ...expect } = raw.expect;
  const c: PolicyTestCase = { name: raw.name, principal: who.ok ? who.principal : ANONYMOUS, request, expect };
  if (shadow !== undefined) c.expect.shadow = typeof shadow === 'string' ? { effect: shadow } : shadow;
  if (r.listing) c.listing = true;
  return c;
}

/** `known`: the configuration's server names; a case about another server fails (its rules could never apply). */
export function runPolicyTests(engine: PolicyEngine, suites: readonly PolicyTestSuite[], known?: KnownNames): PolicyTestResult[] {
  const results: PolicyTestResult[] = [];
  for (const suite of suites) {
    for (const c of suite.cases) {
      const decision = engine.decide({ ...c.request, principal: c.principal }, c.listing ? { listing: true } : {});
      const actual: PolicyTestResult['actual'] = { ...outcomeOf(decision), reason: decision.reason };
      if (decision.conditionError !== undefined) actual.reason += ` (condition error: ${decision.conditionError})`;
      if (decision.shadow || c.expect.shadow) {
        actual.shadow = outcomeOf(decision.shadow?.would ?? decision);
        actual.shadowRules = (decision.shadow?.rules ?? []).map((r) => (r.detail ? `${r.ruleId} (${r.outcome}: ${r.detail})` : `${r.ruleId} (${r.outcome})`));
      }
      const diff = diffOf(c.expect, actual);
      const server = c.request.server.name;
      if (known && !known.servers.has(server))
        diff.unshift(`server: "${server}" is not a server of the configuration (known: ${[...known.servers].join(', ') || 'none'})`);
      results.push({ file: suite.file, name: c.name, passed: diff.length === 0, expected: c.expect, actual, diff });
    }
  }
  return results;
}

function outcomeOf(d: { allowed: boolean; ruleId?: string; code?: string; approval?: Decision['approval'] }): PolicyTestOutcome {
  const o: PolicyTestOutcome = { effect: !d.allowed ? 'deny' : d.approval ? 'approval-required' : 'allow' };
  if (d.ruleId !== undefined) o.ruleId = d.ruleId;
  if (d.code !== undefined) o.code = d.code;
  if (d.approval) o.approvers = d.approval.approvers.map(approverText);
  return o;
}

/** An approver as a policy file names it. */
export function approverText(a: Approver): string {
  return a.kind === 'self' ? 'self' : a.kind === 'group' ? `group:${a.name}` : `principal:${a.id}`;
}

function diffOf(expected: PolicyTestExpectation, actual: PolicyTestResult['actual']): string[] {
  const diff = diffOutcome('', expected, actual);
  if (diff.length > 0) diff.push(`reason: ${actual.reason}`);
  if (expected.shadow && actual.shadow) {
    const shadow = diffOutcome('shadow.', expected.shadow, actual.shadow);
    if (shadow.length > 0) diff.push(...shadow, `shadow rules: ${actual.shadowRules?.join(', ') || 'none'}`);
  }
  return diff;
}

function diffOutcome(prefix: string, expected: PolicyTestOutcome, actual: PolicyTestOutcome): string[] {
  const show = (v: string | undefined) => (v === undefined ? 'none' : JSON.stringify(v));
  const diff: string[] = [];
  for (const key of ['effect', 'ruleId', 'code'] as const) {
    if (expected[key] !== undefined && expected[key] !== actual[key]) diff.push(`${prefix}${key}: expected ${show(expected[key])}, got ${show(actual[key])}`);
  }
  const approvers = (list: string[] | undefined) => (list ? [...list].sort().join(', ') : undefined);
  if (expected.approvers !== undefined && approvers(expected.approvers) !== approvers(actual.approvers))
    diff.push(`${prefix}approvers: expected ${show(approvers(expected.approvers))}, got ${show(approvers(actual.approvers))}`);
  return diff;
}
