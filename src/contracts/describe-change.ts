/**
 * Words for schema and annotation changes, shared by the widening reasons of
 * `diffContracts` and the lines of `formatDiff`, so both say the same thing.
 */
import type { SchemaChange } from './schema-diff.js';

/** Longer values are cut: a whole nested schema would drown the line it explains. */
const MAX_SHOWN = 80;

/** A value as JSON, '(none)' when absent, cut to a readable length. */
export function showValue(value: unknown): string {
  if (value === undefined) return '(none)';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > MAX_SHOWN ? `${json.slice(0, MAX_SHOWN - 1)}…` : json;
}

/**
 * A schema path as a reader names it: 'properties.opts.properties.mode' → 'opts.mode',
 * 'properties.tags.items' → 'tags[]'. (A property name containing a dot reads ambiguously; the path itself stays exact.)
 */
export function readablePath(path: string): string {
  const segments = path === '' ? [] : path.split('.');
  const named: string[] = [];
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!;
    const next = segments[index + 1];
    if (segment === 'properties' && next !== undefined) {
      named.push(next);
      index++;
    } else if (segment === 'items' && named.length > 0) named.push(`${named.pop()}[]`);
    else named.push(segment);
  }
  return named.join('.');
}

/** The path of the schema owning a keyword, and the keyword: 'properties.mode.type' → ['properties.mode', 'type']. */
function splitKeyword(path: string): [owner: string, keyword: string] {
  const cut = path.lastIndexOf('.');
  return cut < 0 ? ['', path] : [path.slice(0, cut), path.slice(cut + 1)];
}

/** The property a required-* change is about, qualified by the schema it sits in: 'opts.path'. */
export function requiredName(change: SchemaChange): string {
  const [owner] = splitKeyword(change.path);
  const name = String(change.change === 'required-added' ? change.after : change.before);
  const where = readablePath(owner);
  return where === '' ? name : `${where}.${name}`;
}

/** One change in words: 'property "mode" added', 'type of "mode": "string" → ["string","number"]'. `noun` names what properties stand for (a prompt's arguments). */
export function describeSchemaChange(change: SchemaChange, noun = 'property'): string {
  switch (change.change) {
    case 'property-added':
      return `${noun} "${readablePath(change.path)}" added`;
    case 'property-removed':
      return `${noun} "${readablePath(change.path)}" removed`;
    case 'required-added':
      return `required "${requiredName(change)}" added`;
    case 'required-removed':
      return `required "${requiredName(change)}" removed`;
    case 'other':
      return `${readablePath(change.path) || '(schema)'}: ${showValue(change.before)} → ${showValue(change.after)}`;
    default:
      return describeKeywordChange(change);
  }
}

function describeKeywordChange(change: SchemaChange): string {
  const [owner, keyword] = splitKeyword(change.path);
  const where = owner === '' ? '' : ` of "${readablePath(owner)}"`;
  return `${keyword}${where}: ${showValue(change.before)} → ${showValue(change.after)}`;
}

/** An annotation value in words: JSON, '(unset)' when absent (its MCP default then applies). */
export function showAnnotation(value: unknown): string {
  return value === undefined ? '(unset)' : showValue(value);
}
