/**
 * A structural diff of two JSON Schemas (an approved and a live inputSchema or
 * outputSchema), walking `properties`, `items`, `additionalProperties` and
 * `$defs`/`definitions`. Each change says whether it widens: whether the live
 * schema accepts something the approved one did not, which an approved rule
 * may not have anticipated. Unknown keyword changes (`anyOf`, `$ref`, ...) are
 * read conservatively as widening; the per-keyword rules are in `schema-keywords.ts`.
 */
import {
  compareBounds,
  compareConst,
  compareEnum,
  compareRequired,
  compareStringRule,
  compareType,
  isRecord,
  joinPath,
  LEAF_KEYWORDS,
  own,
  type Schema,
  type SchemaChange,
  sameJson,
  schemaChange,
} from './schema-keywords.js';

export type { SchemaChange, SchemaChangeKind } from './schema-keywords.js';

/** Deeper than this, a difference is reported as one conservative 'other' rather than walked (bounds the work on hostile schemas). */
const MAX_DEPTH = 32;

/** Keywords that only document a schema: changing them does not change what validates, so it never widens. */
const DOCUMENTATION_KEYWORDS: ReadonlySet<string> = new Set(['title', 'description', 'examples', 'default', '$comment', 'deprecated', 'readOnly', 'writeOnly']);

/** Keywords compared on their own below; any other keyword that changed is reported as 'other'. */
const WALKED_KEYWORDS: ReadonlySet<string> = new Set([...LEAF_KEYWORDS, 'properties', 'items', 'additionalProperties', '$defs', 'definitions']);

/** Where in the schema a comparison is: its path and how deep the walk is. */
interface Site {
  path: string;
  depth: number;
}

export function diffSchemas(approved: unknown, live: unknown): SchemaChange[] {
  return compareNode(approved, live, { path: '', depth: 0 });
}

function compareNode(before: unknown, after: unknown, site: Site): SchemaChange[] {
  if (sameJson(before, after)) return [];
  // A boolean or malformed schema, or one past the depth bound, cannot be compared keyword by keyword.
  if (site.depth >= MAX_DEPTH || !isRecord(before) || !isRecord(after)) return [schemaChange(site.path, 'other', before, after, true)];
  const { path } = site;
  return [
    ...compareType(before, after, path),
    ...compareEnum(before, after, path),
    ...compareConst(before, after, path),
    ...compareStringRule('pattern', before, after, path),
    ...compareStringRule('format', before, after, path),
    ...compareBounds(before, after, path),
    ...compareProperties(before, after, site),
    ...compareRequired(before, after, path),
    ...compareAdditionalProperties(before, after, site),
    ...compareItems(before, after, site),
    ...compareDefinitions('$defs', before, after, site),
    ...compareDefinitions('definitions', before, after, site),
    ...compareOtherKeywords(before, after, path),
  ];
}

function child(site: Site, ...segments: string[]): Site {
  return { path: segments.reduce(joinPath, site.path), depth: site.depth + 1 };
}

/** A new property widens (the caller can now send it); a removed one does not. */
function compareProperties(before: Schema, after: Schema, site: Site): SchemaChange[] {
  return compareSchemaMap('properties', before, after, site, {
    added: (path, schema) => schemaChange(path, 'property-added', undefined, schema, true),
    removed: (path, schema) => schemaChange(path, 'property-removed', schema, undefined, false),
  });
}

/**
 * A definition is reached only through `$ref`, whose own changes are caught as 'other'; a new one
 * still widens, to be safe, since it may resolve a `$ref` that dangled before.
 */
function compareDefinitions(keyword: '$defs' | 'definitions', before: Schema, after: Schema, site: Site): SchemaChange[] {
  return compareSchemaMap(keyword, before, after, site, {
    added: (path, schema) => schemaChange(path, 'other', undefined, schema, true),
    removed: (path, schema) => schemaChange(path, 'other', schema, undefined, false),
  });
}

interface EntryRules {
  added: (path: string, schema: unknown) => SchemaChange;
  removed: (path: string, schema: unknown) => SchemaChange;
}

/** Compares a keyword whose value maps names to schemas: entries on one side only by `rules`, shared ones recursively. */
function compareSchemaMap(keyword: string, before: Schema, after: Schema, site: Site, rules: EntryRules): SchemaChange[] {
  const was = before[keyword] ?? {};
  const now = after[keyword] ?? {};
  if (sameJson(was, now)) return [];
  if (!isRecord(was) || !isRecord(now)) return [schemaChange(joinPath(site.path, keyword), 'other', was, now, true)];
  const entries = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
  return entries.flatMap((name) => {
    const at = child(site, keyword, name);
    if (!Object.hasOwn(was, name)) return [rules.added(at.path, now[name])];
    if (!Object.hasOwn(now, name)) return [rules.removed(at.path, was[name])];
    return compareNode(was[name], now[name], at);
  });
}

/** Open (absent or true) accepts any extra property, a schema some, false none. */
function openness(value: unknown): number | undefined {
  if (value === undefined || value === true) return 2;
  if (isRecord(value)) return 1;
  return value === false ? 0 : undefined;
}

function compareAdditionalProperties(before: Schema, after: Schema, site: Site): SchemaChange[] {
  const was = before.additionalProperties;
  const now = after.additionalProperties;
  if (sameJson(was, now)) return [];
  const at = child(site, 'additionalProperties');
  if (isRecord(was) && isRecord(now)) return compareNode(was, now, at);
  const wasOpenness = openness(was);
  const nowOpenness = openness(now);
  if (wasOpenness === undefined || nowOpenness === undefined) return [schemaChange(at.path, 'other', was, now, true)];
  if (wasOpenness === nowOpenness) return [];
  const widens = nowOpenness > wasOpenness;
  return [schemaChange(at.path, widens ? 'additional-properties-widened' : 'additional-properties-narrowed', was, now, widens)];
}

/** A single items schema is walked; an items constraint newly added only narrows; anything else (removed, tuple forms) widens, to be safe. */
function compareItems(before: Schema, after: Schema, site: Site): SchemaChange[] {
  const was = before.items;
  const now = after.items;
  if (sameJson(was, now)) return [];
  const at = child(site, 'items');
  if (isRecord(was) && isRecord(now)) return compareNode(was, now, at);
  return [schemaChange(at.path, 'other', was, now, was !== undefined)];
}

function compareOtherKeywords(before: Schema, after: Schema, path: string): SchemaChange[] {
  const keywords = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((keyword) => !WALKED_KEYWORDS.has(keyword)).sort();
  return keywords.flatMap((keyword) => {
    const was = own(before, keyword);
    const now = own(after, keyword);
    if (sameJson(was, now)) return [];
    return [schemaChange(joinPath(path, keyword), 'other', was, now, !DOCUMENTATION_KEYWORDS.has(keyword))];
  });
}
