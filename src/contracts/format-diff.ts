/**
 * Renders a contract diff as the readable block `switchboard pin diff` prints:
 * a header, then one line per change, with removed text in `[-…-]` and added
 * text in `{+…+}` (kept with colour too, so the meaning survives a log that
 * strips escape codes).
 */
import type { ContractKind } from './contract.js';
import { describeSchemaChange, requiredName, readablePath, showAnnotation } from './describe-change.js';
import { annotationWidens, type ContractDiff, type FieldChange, fieldChangeWidens, type TextPart } from './diff.js';
import type { SchemaChange } from './schema-diff.js';

export interface FormatOptions {
  /** Wrap removed text in red, added text in green and widening marks in yellow (ANSI). */
  color?: boolean;
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', reset: '\x1b[0m' } as const;

type Paint = (color: Exclude<keyof typeof ANSI, 'reset'>, text: string) => string;

/** A multi-line block: `~ <server> <kind> <name>`, then one indented line per change. */
export function formatDiff(server: string, name: string, kind: ContractKind, diff: ContractDiff, options: FormatOptions = {}): string {
  const paint = painter(options);
  return [`~ ${server} ${kind} ${name}`, ...diff.fields.flatMap((change) => fieldLines(change, paint))].join('\n');
}

/** An entry served live but absent from the lock. */
export function formatAdded(server: string, name: string, kind: ContractKind, options: FormatOptions = {}): string {
  return `${painter(options)('green', `+ ${server} ${kind} ${name}`)} (new, not in the lock)`;
}

/** An entry in the lock that the server no longer lists. */
export function formatRemoved(server: string, name: string, kind: ContractKind, options: FormatOptions = {}): string {
  return `${painter(options)('red', `- ${server} ${kind} ${name}`)} (in the lock, no longer served)`;
}

function painter(options: FormatOptions): Paint {
  return options.color === true ? (color, text) => `${ANSI[color]}${text}${ANSI.reset}` : (_color, text) => text;
}

function widensMark(widens: boolean, paint: Paint): string {
  return widens ? ` ${paint('yellow', '(widens)')}` : '';
}

function fieldLines(change: FieldChange, paint: Paint): string[] {
  if (change.schema !== undefined) return schemaLines(change, change.schema, paint);
  if (change.annotations !== undefined && change.annotations.length > 0) return annotationLines(change, paint);
  if (change.text !== undefined) return [`  ${change.field}: ${renderText(change.text, paint)}`];
  return [`  ${change.field}: ${change.change}${widensMark(fieldChangeWidens(change), paint)}`];
}

function schemaLines(change: FieldChange, schema: SchemaChange[], paint: Paint): string[] {
  // Canonical JSON differs but nothing structural does: entries reordered, a type spelt as a list.
  if (schema.length === 0) return [`  ${change.field}: ${change.change} (no structural difference)`];
  const noun = change.field === 'arguments' ? 'argument' : 'property';
  return schema.map((entry) => `  ${change.field}: ${schemaLine(entry, noun)}${widensMark(entry.widens, paint)}`);
}

/** Additions and removals of properties and required names read as +/- lines; other changes as before → after. */
function schemaLine(change: SchemaChange, noun: string): string {
  switch (change.change) {
    case 'property-added':
      return `+ ${noun} "${readablePath(change.path)}"`;
    case 'property-removed':
      return `- ${noun} "${readablePath(change.path)}"`;
    case 'required-added':
      return `+ required "${requiredName(change)}"`;
    case 'required-removed':
      return `- required "${requiredName(change)}"`;
    default:
      return describeSchemaChange(change, noun);
  }
}

function annotationLines(change: FieldChange, paint: Paint): string[] {
  return (change.annotations ?? []).map(
    ({ key, before, after }) =>
      `  ${change.field}.${key}: ${showAnnotation(before)} → ${showAnnotation(after)}${widensMark(annotationWidens(key, before, after), paint)}`,
  );
}

/** Word diff in the `git diff --word-diff` style; continuation lines of multi-line text stay indented under the field. */
function renderText(parts: TextPart[], paint: Paint): string {
  const rendered = parts
    .map((part) => {
      if (part.removed) return paint('red', `[-${part.value}-]`);
      if (part.added) return paint('green', `{+${part.value}+}`);
      return part.value;
    })
    .join('');
  return rendered.replaceAll('\n', '\n    ');
}
