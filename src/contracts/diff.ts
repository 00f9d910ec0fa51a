/**
 * Compares the approved version of a contract (from `switchboard.lock`) with the
 * live one and explains the difference: which fields drifted, how, and whether
 * the live version widens — accepts or claims more than was approved. Widening
 * is drift that must be re-approved, because an approved rule may rely on the
 * old shape. Pure: no I/O, no state.
 */
import { diffWords } from 'diff';
import { CONTRACT_FIELDS, type ContractKind } from './contract.js';
import { describeSchemaChange, showAnnotation } from './describe-change.js';
import { diffSchemas, type SchemaChange } from './schema-diff.js';
import { isRecord, own, sameJson } from './schema-keywords.js';

export interface AnnotationChange {
  key: string;
  before?: unknown;
  after?: unknown;
}

export interface TextPart {
  added?: boolean;
  removed?: boolean;
  value: string;
}

export interface FieldChange {
  /** Top-level field: 'description', 'inputSchema', 'annotations', 'title', ... */
  field: string;
  change: 'added' | 'removed' | 'changed';
  /** For inputSchema/outputSchema: the structural changes; for a prompt's arguments, those of the object schema they describe. */
  schema?: SchemaChange[];
  /** For annotations: per key. */
  annotations?: AnnotationChange[];
  /** For text fields: word-level parts. */
  text?: TextPart[];
}

export interface ContractDiff {
  /** In CONTRACT_FIELDS order; empty if the contracts are equal as canonical JSON. */
  fields: FieldChange[];
  /** The changed field names, e.g. ['description','inputSchema'] — what TOOL_QUARANTINED reports as `drifted`. */
  drifted: string[];
  /** True if the live version accepts or claims more than the approved one. */
  widens: boolean;
  /** Why it widens, e.g. 'inputSchema: property "mode" added', 'annotations.readOnlyHint: false → true'. */
  widening: string[];
}

/**
 * Per behaviour hint: its MCP default, and the value by which a tool claims to be
 * safer. Moving to the safer value widens: a policy may trust the claim.
 */
const SAFER_HINTS: Readonly<Record<string, { fallback: boolean; safer: boolean }>> = {
  readOnlyHint: { fallback: false, safer: true },
  destructiveHint: { fallback: true, safer: false },
  idempotentHint: { fallback: false, safer: true },
  openWorldHint: { fallback: true, safer: false },
};

export function diffContracts(approved: Record<string, unknown>, live: Record<string, unknown>, kind: ContractKind): ContractDiff {
  const fields = CONTRACT_FIELDS[kind].flatMap((field) => diffField(field, own(approved, field), own(live, field)));
  const widening = fields.flatMap(wideningReasons);
  return { fields, drifted: fields.map((change) => change.field), widens: widening.length > 0, widening };
}

/** True if an annotation change makes the tool claim to be safer than approved (an absent hint has its MCP default). */
export function annotationWidens(key: string, before: unknown, after: unknown): boolean {
  if (!Object.hasOwn(SAFER_HINTS, key)) return false;
  const hint = SAFER_HINTS[key]!;
  const effective = (value: unknown) => (typeof value === 'boolean' ? value : hint.fallback);
  return effective(before) !== hint.safer && effective(after) === hint.safer;
}

/** True if a field's change widens by itself, beyond its schema and annotation details: an inputSchema dropped no longer constrains arguments. */
export function fieldChangeWidens(change: FieldChange): boolean {
  return change.field === 'inputSchema' && change.change === 'removed';
}

function diffField(field: string, before: unknown, after: unknown): FieldChange[] {
  if (sameJson(before, after)) return [];
  const change = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
  return [{ field, change, ...detailsOf(field, before, after) }];
}

function detailsOf(field: string, before: unknown, after: unknown): Partial<FieldChange> {
  if (field === 'inputSchema' || field === 'outputSchema') return schemaDetails(field, before, after);
  if (field === 'arguments') return { schema: diffSchemas(argumentsAsSchema(before), argumentsAsSchema(after)) };
  if (field === 'annotations') return { annotations: diffAnnotations(before, after) };
  if (isText(before) && isText(after)) return { text: diffText(before ?? '', after ?? '') };
  return {};
}

/** A schema added or removed whole is described by the field change alone; outputSchema changes never widen (the gateway does not rely on them). */
function schemaDetails(field: 'inputSchema' | 'outputSchema', before: unknown, after: unknown): Partial<FieldChange> {
  if (before === undefined || after === undefined) return {};
  const changes = diffSchemas(before, after);
  return { schema: field === 'outputSchema' ? changes.map((change) => ({ ...change, widens: false })) : changes };
}

/**
 * A prompt's arguments read as the object schema they describe, so a new argument or one no
 * longer required widens by the same rules as an inputSchema. Unreadable arguments become a
 * value the walk cannot compare, which it reports as a conservative 'other'.
 */
function argumentsAsSchema(value: unknown): unknown {
  if (value === undefined) return { type: 'object', properties: {}, required: [] };
  if (!Array.isArray(value) || !value.every((entry) => isRecord(entry) && typeof entry.name === 'string')) return value;
  const entries = value as { name: string; required?: unknown }[];
  // fromEntries defines own properties, so an argument named "__proto__" stays a property.
  const properties = Object.fromEntries(entries.map(({ name, required: _required, ...rest }) => [name, rest]));
  const required = entries.filter((entry) => entry.required === true).map((entry) => entry.name);
  return { type: 'object', properties, required };
}

function diffAnnotations(before: unknown, after: unknown): AnnotationChange[] {
  const was = isRecord(before) ? before : {};
  const now = isRecord(after) ? after : {};
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
  return keys.flatMap((key) => {
    const [from, to] = [own(was, key), own(now, key)];
    if (sameJson(from, to)) return [];
    return [{ key, ...(from === undefined ? {} : { before: from }), ...(to === undefined ? {} : { after: to }) }];
  });
}

function isText(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

function diffText(before: string, after: string): TextPart[] {
  return diffWords(before, after).map((part) => ({
    ...(part.added ? { added: true } : {}),
    ...(part.removed ? { removed: true } : {}),
    value: part.value,
  }));
}

function wideningReasons(change: FieldChange): string[] {
  const noun = change.field === 'arguments' ? 'argument' : 'property';
  return [
    ...(fieldChangeWidens(change) ? [`${change.field}: removed (arguments are no longer constrained)`] : []),
    ...(change.schema ?? []).filter((entry) => entry.widens).map((entry) => `${change.field}: ${describeSchemaChange(entry, noun)}`),
    ...(change.annotations ?? [])
      .filter((entry) => annotationWidens(entry.key, entry.before, entry.after))
      .map((entry) => `annotations.${entry.key}: ${showAnnotation(entry.before)} → ${showAnnotation(entry.after)}`),
  ];
}
