/**
 * Glob lists for rule matching: `*` is any run of characters (including none,
 * and including `/`), `?` is exactly one character, everything else is
 * literal. Compiled once at load into a Set (exact names) plus one RegExp.
 */
import type { Matcher } from './types.js';

/** RegExp syntax characters plus `/`: the characters that may be escaped under the `u` flag. */
const SYNTAX = /[\\^$.+()[\]{}|/]/g;

export function globToRegExpSource(glob: string): string {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += ch.replace(SYNTAX, '\\$&');
  }
  return out;
}

export const isGlob = (s: string): boolean => s.includes('*') || s.includes('?');

export function compileGlobs(globs: readonly string[]): Matcher {
  const frozen = Object.freeze([...globs]);
  // The common "match everything" case skips the RegExp entirely.
  if (frozen.includes('*')) return { globs: frozen, test: () => true };
  const exact = new Set(frozen.filter((g) => !isGlob(g)));
  const patterns = frozen.filter(isGlob).map(globToRegExpSource);
  // `s`: a `*` also spans newlines; `u`: `?` is one code point, not one UTF-16 unit.
  const re = patterns.length > 0 ? new RegExp(`^(?:${patterns.join('|')})$`, 'su') : undefined;
  return {
    globs: frozen,
    test: re ? (v: string) => exact.has(v) || re.test(v) : (v: string) => exact.has(v),
  };
}
