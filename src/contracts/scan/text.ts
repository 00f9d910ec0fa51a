/**
 * The text of a contract an agent reads, each piece with the path it sits at:
 * the entry's title and description, every `title`/`description` string
 * nested in its schemas and annotations, prompt argument descriptions, and
 * (separately) the names. Schemas come from servers under review, so the walk
 * is bounded in depth, in nodes visited and in texts kept: a hostile schema
 * costs at most MAX_NODES steps and yields at most MAX_TEXTS texts.
 */
import type { Contract } from '../contract.js';
import { escapeInvisible } from './unicode.js';

export type TextRole = 'name' | 'title' | 'description';

export interface TextField {
  /** Where the text is: `description`, `inputSchema.properties.path.description`, `arguments[0].description`. */
  path: string;
  role: TextRole;
  /**
   * The text as scanned: at most MAX_FIELD_CHARS code units. Every detector's
   * regexes are linear in this length, and the cap bounds the worst case; text
   * past it is not scanned (the length-outlier detector still sees `length`).
   */
  text: string;
  /** The full length of the original text. */
  length: number;
}

/** A contract with its texts collected once, for all detectors. */
export interface Entry {
  contract: Contract;
  /** Titles and descriptions, top level first, in document order. */
  texts: readonly TextField[];
  /** The entry's name (a template's URI template), a template's human name, prompt argument names. */
  names: readonly TextField[];
}

/** 64 KiB of text per field is scanned; no honest description comes near it. */
export const MAX_FIELD_CHARS = 64 * 1024;
/** Nesting deeper than this is not walked (real schemas stay well under 10). */
export const MAX_DEPTH = 32;
/** Objects, arrays and values visited per contract. */
export const MAX_NODES = 10_000;
/** Texts kept per contract. */
export const MAX_TEXTS = 1_000;

const TEXT_KEYS: ReadonlySet<string> = new Set(['title', 'description']);
/** Keys that read unambiguously after a dot; others are written `["key"]`. */
const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textField(path: string, role: TextRole, text: string): TextField {
  return { path, role, text: text.length > MAX_FIELD_CHARS ? text.slice(0, MAX_FIELD_CHARS) : text, length: text.length };
}

/** Longer keys are cut in paths (with `…`): a hostile megabyte-long property name must not repeat in every finding. */
const MAX_KEY_IN_PATH = 128;

/**
 * `parent.key`, or `parent["key"]` when the key has dots, spaces or other
 * characters that would blur the path; invisible characters in such a key are
 * escaped, so the path shows what is there.
 */
export function childPath(parent: string, key: string): string {
  if (PLAIN_KEY.test(key) && key.length <= MAX_KEY_IN_PATH) return `${parent}.${key}`;
  const shownKey = key.length > MAX_KEY_IN_PATH ? `${key.slice(0, MAX_KEY_IN_PATH)}…` : key;
  return `${parent}[${escapeInvisible(JSON.stringify(shownKey))}]`;
}

/** Titles and descriptions of a contract, nested ones included, within the bounds above. */
export function textFields(contract: Contract): TextField[] {
  const out: TextField[] = [];
  let budget = MAX_NODES;
  const full = () => budget <= 0 || out.length >= MAX_TEXTS;
  const visit = (value: unknown, path: string, depth: number): void => {
    budget--;
    if (full() || depth > MAX_DEPTH) return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && !full(); i++) visit(value[i], `${path}[${i}]`, depth + 1);
      return;
    }
    if (!isRecord(value)) return;
    for (const key in value) {
      // Every key costs a step, so a schema with a million plain keys stops early too.
      if (budget-- <= 0 || full()) return;
      if (!Object.hasOwn(value, key)) continue;
      const child = value[key];
      if (TEXT_KEYS.has(key) && typeof child === 'string') out.push(textField(childPath(path, key), key as TextRole, child));
      else if (typeof child === 'object') visit(child, childPath(path, key), depth + 1);
    }
  };
  // Top-level title/description first; then every object field (schemas, annotations, prompt arguments).
  for (const key of TEXT_KEYS) {
    const value = contract.fields[key];
    if (typeof value === 'string') out.push(textField(key, key as TextRole, value));
  }
  for (const [key, value] of Object.entries(contract.fields)) if (typeof value === 'object') visit(value, key, 1);
  return out;
}

/** The names of a contract: its key, a template's human name, and prompt argument names. */
export function nameFields(contract: Contract): TextField[] {
  const names = [textField(contract.kind === 'resourceTemplate' ? 'uriTemplate' : 'name', 'name', contract.name)];
  const { name, arguments: args } = contract.fields;
  if (contract.kind === 'resourceTemplate' && typeof name === 'string') names.push(textField('name', 'name', name));
  if (contract.kind === 'prompt' && Array.isArray(args)) {
    args.slice(0, MAX_TEXTS).forEach((arg: unknown, i) => {
      if (isRecord(arg) && typeof arg.name === 'string') names.push(textField(`arguments[${i}].name`, 'name', arg.name));
    });
  }
  return names;
}

export function entryOf(contract: Contract): Entry {
  return { contract, texts: textFields(contract), names: nameFields(contract) };
}
