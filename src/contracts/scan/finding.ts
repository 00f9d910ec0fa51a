/**
 * The shape of a finding and of a detector, and the one way findings are
 * built, so ids, excerpts and ordering are the same for every detector.
 */
import type { Contract, ContractKind } from '../contract.js';
import type { Entry, TextField } from './text.js';
import { escapeInvisible, excerpt } from './unicode.js';

export type Severity = 'low' | 'medium' | 'high';

export interface Finding {
  /** Stable detector id, e.g. `hidden-instruction`. */
  detector: string;
  /** Stable finding id: `${detector}:${server}:${kind}:${name}:${field}:${start}`. */
  id: string;
  severity: Severity;
  server: string;
  kind: ContractKind;
  name: string;
  /** Where the text is, as a path: `description`, `inputSchema.properties.path.description`, `arguments[0].description`. */
  field: string;
  /** Offsets into that field's string; `text` is the excerpt (at most 120 chars, invisible characters as `\u{XXXX}`). */
  span: { start: number; end: number; text: string };
  /** What was found, one line. */
  message: string;
  /** What the operator should do, one line. */
  fix: string;
}

export interface DetectorInfo {
  readonly id: string;
  /** The severity of a plain finding; some detectors raise it for worse cases (see the summary). */
  readonly severity: Severity;
  readonly summary: string;
}

export interface Detector extends DetectorInfo {
  /** All entries at once: some detectors compare entries (names across servers, lengths across siblings). */
  scan(entries: readonly Entry[]): Finding[];
}

/** One match inside one field, before it is dressed as a finding. */
export interface Hit {
  start: number;
  end: number;
  message: string;
  fix: string;
  /** Defaults to the detector's severity. */
  severity?: Severity;
}

/** The command that approves an entry's current contract, for fixes (invisible characters escaped: a fix is one visible line). */
export function approveCommand(contract: Contract): string {
  return `\`switchboard pin approve ${escapeInvisible(`${contract.server}__${contract.name}`)}\``;
}

export function findingOf(detector: DetectorInfo, contract: Contract, field: TextField, hit: Hit): Finding {
  const { server, kind, name } = contract;
  return {
    detector: detector.id,
    id: `${detector.id}:${server}:${kind}:${name}:${field.path}:${hit.start}`,
    severity: hit.severity ?? detector.severity,
    server,
    kind,
    name,
    field: field.path,
    span: { start: hit.start, end: hit.end, text: excerpt(field.text, hit.start, hit.end) },
    message: hit.message,
    fix: hit.fix,
  };
}

/**
 * Findings per detector per field are capped: a hostile field repeating one
 * pattern thousands of times says nothing more after the first hundred
 * (the earliest are kept).
 */
export const MAX_HITS_PER_FIELD = 100;

/** Findings from a per-field matcher over the chosen fields of every entry. */
export function scanFields(
  detector: DetectorInfo,
  entries: readonly Entry[],
  fieldsOf: (entry: Entry) => readonly TextField[],
  hitsOf: (field: TextField, entry: Entry) => Hit[],
): Finding[] {
  return entries.flatMap((entry) =>
    fieldsOf(entry).flatMap((field) =>
      hitsOf(field, entry)
        .sort((a, b) => a.start - b.start || a.end - b.end)
        .slice(0, MAX_HITS_PER_FIELD)
        .map((hit) => findingOf(detector, entry.contract, field, hit)),
    ),
  );
}

/** Code-unit order, not locale order: the same on every machine. */
function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** By server, kind, name, field, start; then detector and end so equal positions still sort one way. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compare(a.server, b.server) ||
    compare(a.kind, b.kind) ||
    compare(a.name, b.name) ||
    compare(a.field, b.field) ||
    compare(a.span.start, b.span.start) ||
    compare(a.detector, b.detector) ||
    compare(a.span.end, b.span.end) ||
    compare(a.id, b.id)
  );
}
