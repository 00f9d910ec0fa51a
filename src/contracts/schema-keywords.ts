/**
 * The keyword-level comparisons of a schema diff: each looks at one keyword (or
 * one family of bounds) of the same schema node in the approved and the live
 * version, and says whether the live one accepts more. Widening matters because
 * an approved rule may rely on the old shape; when a change cannot be read, it is
 * counted as widening. The walk through nested schemas is in `schema-diff.ts`.
 */
import { canonicalJson } from '../infra/canonical.js';

export type SchemaChangeKind =
  | 'property-added'
  | 'property-removed'
  | 'required-added'
  | 'required-removed'
  | 'type-changed'
  | 'enum-widened'
  | 'enum-narrowed'
  | 'pattern-changed'
  | 'pattern-removed'
  | 'pattern-added'
  | 'additional-properties-widened'
  | 'additional-properties-narrowed'
  | 'bound-relaxed'
  | 'bound-tightened'
  | 'other';

export interface SchemaChange {
  /** Dot-separated path to what changed: 'properties.path', 'properties.opts.properties.mode', 'required', '' (the schema itself). */
  path: string;
  change: SchemaChangeKind;
  /** The approved value (for required-*: the property name). */
  before?: unknown;
  /** The live value (for required-*: the property name). */
  after?: unknown;
  /** True if the live schema accepts something the approved one did not. */
  widens: boolean;
}

export type Schema = Record<string, unknown>;

/** Upper bounds: raising or dropping one accepts more. */
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;
/** Lower bounds: lowering or dropping one accepts more. */
const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: a key such as "constructor" must not read the prototype's. */
export function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Equal as canonical JSON, so key order does not count as a change. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function joinPath(path: string, segment: string): string {
  return path === '' ? segment : `${path}.${segment}`;
}

/** A change record without `before`/`after` keys for absent values, so it reads (and compares) cleanly. */
export function schemaChange(path: string, change: SchemaChangeKind, before: unknown, after: unknown, widens: boolean): SchemaChange {
  return { path, change, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }), widens };
}

export function compareType(before: Schema, after: Schema, path: string): SchemaChange[] {
  if (sameJson(before.type, after.type)) return [];
  const was = typeList(before.type);
  const now = typeList(after.type);
  // ["string","number"] and ["number","string"] (or "string" and ["string"]) accept the same values.
  if (was && now && was.length === now.length && was.every((type) => now.includes(type))) return [];
  return [schemaChange(joinPath(path, 'type'), 'type-changed', before.type, after.type, !isNarrowerType(before.type, after.type))];
}

function typeList(type: unknown): string[] | undefined {
  if (typeof type === 'string') return [type];
  if (Array.isArray(type) && type.every((entry) => typeof entry === 'string')) return [...new Set(type)];
  return undefined;
}

/** Only a strict subset of the approved types narrows (an "integer" is a "number"); anything else widens. */
function isNarrowerType(was: unknown, now: unknown): boolean {
  const nowTypes = typeList(now);
  if (nowTypes === undefined) return false;
  if (was === undefined) return true;
  const wasTypes = typeList(was);
  if (wasTypes === undefined) return false;
  return nowTypes.every((type) => wasTypes.includes(type) || (type === 'integer' && wasTypes.includes('number')));
}

export function compareEnum(before: Schema, after: Schema, path: string): SchemaChange[] {
  const was = before.enum;
  const now = after.enum;
  if (sameJson(was, now)) return [];
  const at = joinPath(path, 'enum');
  if (now === undefined) return [schemaChange(at, 'enum-widened', was, now, true)];
  if (!Array.isArray(now) || (was !== undefined && !Array.isArray(was))) return [schemaChange(at, 'other', was, now, true)];
  if (was === undefined) return [schemaChange(at, 'enum-narrowed', was, now, false)];
  if (hasValueOutside(now, was)) return [schemaChange(at, 'enum-widened', was, now, true)];
  if (hasValueOutside(was, now)) return [schemaChange(at, 'enum-narrowed', was, now, false)];
  return [];
}

function hasValueOutside(values: unknown[], allowed: unknown[]): boolean {
  const known = new Set(allowed.map((value) => canonicalJson(value)));
  return values.some((value) => !known.has(canonicalJson(value)));
}

/** A `const` added only constrains; removed or changed, other values pass. */
export function compareConst(before: Schema, after: Schema, path: string): SchemaChange[] {
  if (sameJson(before.const, after.const)) return [];
  return [schemaChange(joinPath(path, 'const'), 'other', before.const, after.const, before.const !== undefined)];
}

/** `pattern` and `format` both restrict strings: added narrows, removed or changed widens. */
export function compareStringRule(keyword: 'pattern' | 'format', before: Schema, after: Schema, path: string): SchemaChange[] {
  const was = before[keyword];
  const now = after[keyword];
  if (sameJson(was, now)) return [];
  const at = joinPath(path, keyword);
  if (now === undefined) return [schemaChange(at, 'pattern-removed', was, now, true)];
  if (was === undefined) return [schemaChange(at, 'pattern-added', was, now, false)];
  return [schemaChange(at, 'pattern-changed', was, now, true)];
}

export function compareBounds(before: Schema, after: Schema, path: string): SchemaChange[] {
  return [
    ...UPPER_BOUNDS.flatMap((keyword) => compareBound(keyword, 1, before, after, path)),
    ...LOWER_BOUNDS.flatMap((keyword) => compareBound(keyword, -1, before, after, path)),
  ];
}

/** `direction` is +1 for an upper bound (raising relaxes it) and -1 for a lower bound (lowering relaxes it). */
function compareBound(keyword: string, direction: 1 | -1, before: Schema, after: Schema, path: string): SchemaChange[] {
  const was = before[keyword];
  const now = after[keyword];
  if (sameJson(was, now)) return [];
  const at = joinPath(path, keyword);
  if (now === undefined) return [schemaChange(at, 'bound-relaxed', was, now, true)];
  // A non-numeric bound (draft-04's boolean exclusiveMaximum) cannot be ordered: read conservatively.
  if (typeof now !== 'number' || (was !== undefined && typeof was !== 'number')) return [schemaChange(at, 'other', was, now, true)];
  if (was === undefined) return [schemaChange(at, 'bound-tightened', was, now, false)];
  const relaxed = (now - (was as number)) * direction > 0;
  return [schemaChange(at, relaxed ? 'bound-relaxed' : 'bound-tightened', was, now, relaxed)];
}

/** One change per name: a name no longer required widens (the caller may now omit it), a new one narrows. */
export function compareRequired(before: Schema, after: Schema, path: string): SchemaChange[] {
  if (sameJson(before.required, after.required)) return [];
  const was = names(before.required);
  const now = names(after.required);
  const at = joinPath(path, 'required');
  return [
    ...was.filter((name) => !now.includes(name)).map((name) => schemaChange(at, 'required-removed', name, undefined, true)),
    ...now.filter((name) => !was.includes(name)).map((name) => schemaChange(at, 'required-added', undefined, name, false)),
  ];
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

/** The bound and string-rule keywords this module compares, so the walk does not report them again as 'other'. */
export const LEAF_KEYWORDS: readonly string[] = ['type', 'enum', 'const', 'pattern', 'format', 'required', ...UPPER_BOUNDS, ...LOWER_BOUNDS];
