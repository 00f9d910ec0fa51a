/**
 * Turning what is wrong with a policy (or policy tests) file into
 * `ConfigIssue`s: file, JSON path, a message naming the rule, and a fix.
 * The same habits as `config/load.ts`: all issues at once, "did you mean"
 * for typos, and no echo of string values beyond what the author wrote in a
 * policy (policies hold no secrets; `${VAR}` is not substituted in them).
 */
import type { z } from 'zod';
import type { ConfigIssue } from '../core/errors.js';
import { didYouMean, formatPath, valueAt } from '../config/issues.js';
import { closestKey, knownKeysAt } from '../config/schema/index.js';
import { CEL_FIELDS, CEL_VARIABLES, type CelCompileError } from './cel.js';

export type Segs = readonly PropertyKey[];
export type Add = (segs: Segs, message: string, fix: string) => void;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What names an entry of a list: a rule by its id, a test case by its name. */
const NAMED_BY: Record<string, [label: string, key: string]> = { rules: ['rule', 'id'], cases: ['case', 'name'] };

/**
 * An `add` for one file that names the rule (or test case) an issue is inside
 * (`rule "guests-no-env": ...`), since "rules[7]" alone is hard to find.
 */
export function collector(file: string, data: unknown, issues: ConfigIssue[]): Add {
  return (segs, message, fix) => {
    const named = NAMED_BY[String(segs[0])];
    const name = named && typeof segs[1] === 'number' ? valueAt(data, [segs[0]!, segs[1], named[1]]) : undefined;
    const text = named && typeof name === 'string' && name !== '' ? `${named[0]} "${name}": ${message}` : message;
    const path = formatPath(segs);
    if (!issues.some((i) => i.path === path && i.message === text)) issues.push({ file, path, message: text, fix });
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isObj(v)) return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : `a ${typeof v}`;
}

const expectsObject = (i: z.core.$ZodIssue): boolean => i.code === 'invalid_type' && i.expected === 'object';

const TYPE_NAMES: Record<string, string> = { record: 'object (a mapping)', int: 'integer', array: 'list' };

/** One zod issue → issues; `root` is the schema that was parsed (for known keys). */
export function mapZodIssue(issue: z.core.$ZodIssue, data: unknown, add: Add, root: unknown): void {
  const segs = issue.path;
  const last = String(segs[segs.length - 1] ?? '');
  const value = valueAt(data, segs);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(segs, root as Parameters<typeof knownKeysAt>[1]) ?? [];
      const list = `remove it (known keys here: ${known.join(', ')})`;
      for (const k of issue.keys) add([...segs, k], `unknown key "${k}"`, didYouMean(closestKey(k, known), list));
      return;
    }
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (value === undefined) return add(segs, `"${last}" is required`, `add "${last}" (${expected})`);
      const fix = expected === 'list' && isObj(value) ? `write a list: [ … ]` : `write ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
      return add(segs, `expected ${expected}, got ${describe(value)}`, fix);
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const guess = closestKey(String(value), issue.values.map(String));
      return add(segs, `must be one of ${options}`, didYouMean(guess, `use one of ${options}`));
    }
    case 'too_small': {
      if (issue.origin === 'array') return add(segs, 'must not be an empty list', `list at least one value, or remove "${last}" to match anything`);
      if (issue.origin === 'string') return add(segs, 'must not be empty', `give "${last}" a value`);
      return add(segs, `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`, 'use a larger number');
    }
    case 'invalid_format':
      return add(segs, issue.message.replace(/^Invalid string: /, ''), `rename "${String(value)}"`);
    case 'invalid_union': {
      // The one branch of the value's own kind (a name or an object) says best what is wrong inside it.
      const fits = issue.errors.filter((branch) =>
        branch.every((i) => i.path.length > 0 || (isObj(value) ? i.code === 'unrecognized_keys' : !expectsObject(i))),
      );
      if (fits.length === 1) for (const sub of fits[0]!) mapZodIssue({ ...sub, path: [...segs, ...sub.path] } as z.core.$ZodIssue, data, add, root);
      else add(segs, `expected a name or an object, got ${describe(value)}`, 'see policies/README.md for the shape');
      return;
    }
  }
  add(segs, issue.message, 'see policies/README.md and schema/policy.schema.json');
}

/** A CEL compile error → message (with line:column inside the expression) and fix. */
export function celIssue(err: CelCompileError, source: string, want: 'bool' | 'string'): { message: string; fix: string } {
  const at = `at ${err.line}:${err.column}`;
  const quoted = source.length <= 80 && !source.includes('\n') ? ` in ${JSON.stringify(source)}` : '';
  switch (err.kind) {
    case 'syntax':
      return { message: `CEL syntax error ${at}${quoted}: ${err.message}`, fix: 'fix the expression (CEL syntax: https://cel.dev)' };
    case 'unknown-variable': {
      const names = CEL_VARIABLES.join(', ');
      const fix = didYouMean(closestKey(err.name ?? '', CEL_VARIABLES), `use one of the variables ${names}`);
      return { message: `unknown variable "${err.name ?? '?'}" ${at}${quoted}`, fix };
    }
    case 'unknown-field': {
      const fields = Object.keys(CEL_FIELDS[err.variable as keyof typeof CEL_FIELDS] ?? {});
      const guess = closestKey(err.name ?? '', fields);
      const owner = err.variable ?? 'the object';
      const fix = guess ? `did you mean "${owner}.${guess}"?` : `${owner} has the fields ${fields.join(', ')}`;
      return { message: `${owner} has no field "${err.name ?? '?'}" (${at}${quoted})`, fix };
    }
    case 'result-type': {
      const fix =
        want === 'bool'
          ? 'make it a bool expression (e.g. compare with ==, or use in / exists / startsWith)'
          : "make it a string (e.g. principal.id + '/' + server.name)";
      return { message: `CEL type error ${at}${quoted}: ${err.message}`, fix };
    }
    case 'principal-id':
      return {
        message: `${err.message} (${at}${quoted})`,
        fix: `write '${err.suggestion}' for the API key "${err.literal}" (a JWT caller is jwt:<issuer>#<sub>, the stdio caller stdio:<id>)`,
      };
    case 'type':
      return {
        message: `CEL type error ${at}${quoted}: ${err.message}`,
        fix: 'check the operand types: values of different types do not mix (convert with string(), int() or double())',
      };
  }
}
