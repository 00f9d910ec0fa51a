/**
 * The audit side of policy coverage, pure: audit lines tallied (JSON lines;
 * records of `type: "audit"` count, other types such as `audit-start` or
 * `contract` are skipped, `audit-gap` lines say how many records were
 * dropped, and a line that is not a JSON object is counted as malformed, not
 * fatal), then which rules never decided a recorded request and which tools
 * no `tools/call` record names. A shadow rule (`mode: shadow`) never
 * decides: it fires when a record lists it in `shadow.rules`. The caller
 * reads the files.
 */
import type { Effect } from './types.js';

/** At most this many malformed lines are kept by position; all are counted. */
const MAX_MALFORMED_LINES = 20;

export interface MalformedLine {
  file: string;
  /** 1-based. */
  line: number;
  reason: string;
}

export interface AuditTally {
  files: string[];
  /** Lines of `type: "audit"`. */
  records: number;
  /** Lines of another type. */
  skipped: number;
  /** Records the writer could not keep (`audit-gap` lines' `dropped`). */
  dropped: number;
  malformed: number;
  malformedLines: MalformedLine[];
  /** How many records name each rule id as the one that decided. */
  ruleIds: Map<string, number>;
  /** How many records list each shadow rule as one that would have acted (`shadow.rules[].ruleId`). */
  shadowIds: Map<string, number>;
  /** `server\0name` of every tools/call record, by original and by exposed name. */
  calls: Set<string>;
}

export function newAuditTally(): AuditTally {
  return { files: [], records: 0, skipped: 0, dropped: 0, malformed: 0, malformedLines: [], ruleIds: new Map(), shadowIds: new Map(), calls: new Set() };
}

/** Adds one line of `file` (blank lines are nothing). */
export function tallyLine(tally: AuditTally, file: string, line: number, text: string): void {
  if (!tally.files.includes(file)) tally.files.push(file);
  if (text.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return malformed(tally, file, line, 'not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed(tally, file, line, 'not a JSON object');
  const record = value as Record<string, unknown>;
  if (record.type !== 'audit') {
    tally.skipped++;
    if (record.type === 'audit-gap' && typeof record.dropped === 'number') tally.dropped += record.dropped;
    return;
  }
  if (typeof record.method !== 'string') return malformed(tally, file, line, 'an audit record without a method');
  tally.records++;
  if (typeof record.ruleId === 'string') count(tally.ruleIds, record.ruleId);
  const shadow = record.shadow as { rules?: unknown } | undefined;
  if (Array.isArray(shadow?.rules)) for (const r of shadow.rules as { ruleId?: unknown }[]) if (typeof r?.ruleId === 'string') count(tally.shadowIds, r.ruleId);
  if (record.method === 'tools/call' && typeof record.server === 'string') {
    if (typeof record.original === 'string') tally.calls.add(`${record.server}\0${record.original}`);
    if (typeof record.name === 'string') tally.calls.add(`${record.server}\0exposed:${record.name}`);
  }
}

/** Every line of one file's text. */
export function tallyText(tally: AuditTally, file: string, text: string): void {
  if (!tally.files.includes(file)) tally.files.push(file);
  text.split('\n').forEach((line, i) => tallyLine(tally, file, i + 1, line));
}

const count = (map: Map<string, number>, id: string): void => void map.set(id, (map.get(id) ?? 0) + 1);

function malformed(tally: AuditTally, file: string, line: number, reason: string): void {
  tally.malformed++;
  if (tally.malformedLines.length < MAX_MALFORMED_LINES) tally.malformedLines.push({ file, line, reason });
}

export interface AuditCoverage {
  files: string[];
  records: number;
  skipped: number;
  dropped: number;
  malformed: number;
  malformedLines: MalformedLine[];
  /** Rules no record names as the one that decided (shadow rules: lists in `shadow.rules`). */
  neverFired: { ruleId: string; file: string; effect: Effect }[];
  /** Rules records name, with how many. */
  fired: { ruleId: string; count: number }[];
  /** Catalog tools no tools/call record names. */
  neverCalled: { server: string; name: string; exposed?: string }[];
  /** Rule ids records name that the policy does not have (renamed or removed rules); settings' ids are not counted. */
  unknownRuleIds: { ruleId: string; count: number }[];
}

export function auditCoverage(
  rules: readonly { ruleId: string; file: string; effect: Effect; shadow?: boolean }[],
  tools: readonly { server: string; name: string; exposed?: string }[],
  tally: AuditTally,
): AuditCoverage {
  const known = new Set(rules.map((r) => r.ruleId));
  const firings = (r: { ruleId: string; shadow?: boolean }) => (r.shadow ? tally.shadowIds : tally.ruleIds).get(r.ruleId) ?? 0;
  const fired = rules.filter((r) => firings(r) > 0).map((r) => ({ ruleId: r.ruleId, count: firings(r) }));
  const unknownRuleIds = [...tally.ruleIds]
    .filter(([id]) => !known.has(id) && !id.startsWith('servers.') && !id.startsWith('groups.'))
    .map(([ruleId, count]) => ({ ruleId, count }));
  const called = (t: { server: string; name: string; exposed?: string }) =>
    tally.calls.has(`${t.server}\0${t.name}`) || (t.exposed !== undefined && tally.calls.has(`${t.server}\0exposed:${t.exposed}`));
  return {
    files: [...tally.files],
    records: tally.records,
    skipped: tally.skipped,
    dropped: tally.dropped,
    malformed: tally.malformed,
    malformedLines: [...tally.malformedLines],
    neverFired: rules.filter((r) => firings(r) === 0).map((r) => ({ ruleId: r.ruleId, file: r.file, effect: r.effect })),
    fired,
    neverCalled: tools
      .filter((t) => !called(t))
      .map((t) => (t.exposed === undefined ? { server: t.server, name: t.name } : { server: t.server, name: t.name, exposed: t.exposed })),
    unknownRuleIds,
  };
}
