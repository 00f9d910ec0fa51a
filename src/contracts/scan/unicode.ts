/**
 * Characters a reviewer cannot see, shared by the invisible-characters
 * detector, the homoglyph skeleton and every finding's excerpt (which must
 * show them as `\u{XXXX}` escapes, or the excerpt would hide what it reports).
 */

/**
 * One or more invisible characters: every format character (\p{Cf} covers
 * zero-width U+200B–U+200D, U+2060, U+FEFF, the bidi controls U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069 and the tag characters U+E0000–U+E007F), plus
 * blank letters outside Cf (Hangul fillers) and the supplementary variation
 * selectors used to smuggle bytes. The ordinary selectors U+FE00–U+FE0F are
 * left out: emoji carry them legitimately.
 */
// Two classes (disjoint, so still linear): one class mixing letters with the selectors reads to linters as a
// combining sequence.
export const INVISIBLE_RUN = /(?:[\p{Cf}\u115F\u1160\u3164\uFFA0]|[\u{E0100}-\u{E01EF}])+/gu;

/** One character an excerpt escapes: the invisible ones, controls (newlines too: excerpts are one line) and lone surrogates. */
const ESCAPED = /^(?:[\p{Cf}\p{Cc}\p{Cs}\u115F\u1160\u3164\uFFA0]|[\u{E0100}-\u{E01EF}])$/u;

/** The longest excerpt a finding carries, ellipsis included. */
export const MAX_EXCERPT = 120;

/** `U+200B`-style name of a code point, for messages. */
export function codePointName(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A character as an excerpt shows it. */
export function shown(char: string): string {
  return ESCAPED.test(char) ? `\\u{${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}}` : char;
}

/** A string with its invisible characters escaped (no length limit: for short names in messages). */
export function escapeInvisible(text: string): string {
  let out = '';
  for (const char of text) out += shown(char);
  return out;
}

/**
 * `text[start, end)` with invisible characters escaped, at most MAX_EXCERPT
 * characters; a longer excerpt is cut and ends with `…`. Only the first
 * MAX_EXCERPT + 1 code units can reach the output (each shows as at least one
 * character), so a huge span costs no more than a small one.
 */
export function excerpt(text: string, start: number, end: number): string {
  const pieces: string[] = [];
  let length = 0;
  for (const char of text.slice(start, Math.min(end, start + MAX_EXCERPT + 1))) {
    const piece = shown(char);
    pieces.push(piece);
    length += piece.length;
  }
  if (length <= MAX_EXCERPT) return pieces.join('');
  while (length > MAX_EXCERPT - 1) length -= pieces.pop()?.length ?? length;
  return `${pieces.join('')}…`;
}

/** A short piece of text quoted in a message: escaped and capped like an excerpt. */
export function quoted(text: string): string {
  return `"${excerpt(text, 0, text.length)}"`;
}
