/**
 * Turning what is wrong with a config file into `ConfigIssue`s that name the
 * file, a JSON path and a fix: collecting them (each once), formatting paths,
 * and rewording zod's issues ("did you mean" for typos; no echo of string
 * values, which may hold substituted secrets).
 */
import type { z } from 'zod';
import type { ConfigIssue } from '../core/errors.js';
import { REMOTE_TYPES, closestKey, knownKeysAt } from './schema/index.js';

type Seg = PropertyKey;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Records one issue: where (JSON path segments), what is wrong, and how to fix it. */
export type Report = (segs: readonly PropertyKey[], message: string, fix: string) => void;

/** An empty list of issues for `file`, and the `Report` that adds to it (an issue found twice is kept once). */
export function issueCollector(file: string): { issues: ConfigIssue[]; add: Report } {
  const issues: ConfigIssue[] = [];
  const add: Report = (segs, message, fix) => {
    const p = formatPath(segs);
    if (!issues.some((i) => i.path === p && i.message === message)) issues.push({ file, path: p, message, fix });
  };
  return { issues, add };
}

/** `mcpServers.github.headers.Authorization`, `mcpServers["weird.key"]`, `args[0]`. */
export function formatPath(segs: readonly Seg[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z0-9_$-]+$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

/** The value at `segs` in raw data, or undefined. */
export function valueAt(data: unknown, segs: readonly Seg[]): unknown {
  let v = data;
  for (const s of segs) v = isObj(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[s] : undefined;
  return v;
}

/** Numbers and booleans are shown; strings are not (they may hold substituted secrets). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : `a ${typeof v}`;
}

const TYPE_NAMES: Record<string, string> = { record: 'object', int: 'integer' };
export const didYouMean = (guess: string | undefined, otherwise: string) => (guess ? `did you mean "${guess}"?` : otherwise);

/** Turns one zod issue into readable issues; `base` prefixes paths of nested (union) issues. */
export function mapIssue(issue: z.core.$ZodIssue, base: readonly Seg[], data: unknown, add: Report): void {
  const segs = [...base, ...issue.path];
  const last = String(segs[segs.length - 1] ?? '');
  const inServers = segs.length === 2 && (segs[0] === 'mcpServers' || segs[0] === 'servers');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(segs, undefined, data) ?? [];
      const list = `remove it (known keys: ${known.join(', ')})`;
      for (const k of issue.keys) add([...segs, k], `unknown key "${k}"`, didYouMean(closestKey(k, known), list));
      return;
    }
    case 'invalid_union':
      if (inServers) return serverEntryIssue(issue, segs, data, add);
      if (issue.discriminator !== undefined && issue.errors.length === 0) return badDiscriminator(issue, segs, data, add);
      break;
    case 'invalid_key':
      if (!inServers) break;
      return add(
        segs,
        `invalid server name "${last}": use letters, digits, "_" and "-", starting with a letter or digit`,
        `rename it, e.g. to "${last.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[_-]+/, '') || 'server'}"`,
      );
    case 'invalid_type': {
      const value = valueAt(data, segs);
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (value === undefined) return add(segs, `"${last}" is required`, `add "${last}" (${expected})`);
      const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
      return add(segs, `expected ${expected}, got ${describeValue(value)}`, `write ${article} ${expected}`);
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const guess = closestKey(String(valueAt(data, segs)), issue.values.map(String));
      return add(segs, `must be one of ${options}`, didYouMean(guess, `use one of ${options}`));
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = String(small ? issue.minimum : issue.maximum);
      if (issue.origin === 'string' && small && bound === '1') return add(segs, 'must not be empty', `give "${last}" a value`);
      if (issue.origin !== 'number' && issue.origin !== 'int') break;
      const op = `${small ? '>' : '<'}${issue.inclusive ? '=' : ''}`;
      return add(segs, `must be ${op} ${bound}`, `use a ${small ? 'larger' : 'smaller'} number`);
    }
    case 'custom':
      // A refinement may name its own fix.
      if (typeof issue.params?.fix === 'string') return add(segs, issue.message, issue.params.fix);
      break;
    case 'invalid_format': {
      let fix = `fix "${last}"`;
      if (last === 'path') fix = 'start it with "/", e.g. "/mcp"';
      else if (last === 'separator') fix = 'use e.g. "__" or "."';
      else if (last === 'prefix') fix = 'rename the prefix';
      return add(segs, issue.message.replace(/^Invalid string: /, ''), fix);
    }
  }
  add(segs, issue.message, 'see schema/switchboard.schema.json');
}

/** A discriminated union (e.g. `oauth.grant`) got a tag none of its options has. */
function badDiscriminator(issue: z.core.$ZodIssueInvalidUnion, segs: readonly Seg[], data: unknown, add: Report): void {
  const values = ('options' in issue ? (issue.options ?? []) : []).filter((v) => v !== undefined && v !== null).map(String);
  const options = values.map((v) => JSON.stringify(v)).join(', ');
  const guess = closestKey(String(valueAt(data, segs)), values);
  add(segs, `must be one of ${options}`, didYouMean(guess, `use one of ${options}`));
}

/** A server entry matched neither branch: work out which one was meant, and report that branch's issues. */
function serverEntryIssue(issue: z.core.$ZodIssueInvalidUnion, segs: readonly Seg[], data: unknown, add: Report): void {
  const entry = valueAt(data, segs);
  if (!isObj(entry)) {
    const fix = 'write { "command": … } or { "url": … }';
    return add(segs, `a server entry must be an object, got ${describeValue(entry)}`, fix);
  }
  const type = entry.type;
  const remote = (REMOTE_TYPES as readonly unknown[]).includes(type);
  if (type !== undefined && type !== 'stdio' && !remote) {
    const fix = didYouMean(closestKey(String(type), ['stdio', 'http', 'sse']), 'use "stdio", "http" or "sse"');
    return add([...segs, 'type'], `unknown server type ${JSON.stringify(type)}`, fix);
  }
  let branch: number;
  if (type === 'stdio' || (type === undefined && entry.command !== undefined)) branch = 0;
  else if (remote || entry.url !== undefined) branch = 1;
  else {
    // Gemini CLI's and Windsurf's names for the URL.
    const other = ['httpUrl', 'serverUrl'].find((k) => typeof entry[k] === 'string');
    const fix = other ? `rename "${other}" to "url"` : 'add "command" for a local server or "url" for a remote one';
    return add(segs, 'a server needs either "command" (stdio) or "url" (http/sse)', fix);
  }
  for (const sub of issue.errors[branch] ?? []) mapIssue(sub, segs, data, add);
}
