/**
 * Characters a reviewer cannot see but a model reads: zero-width spaces and
 * joiners, bidi controls that reorder what is displayed, Unicode tag
 * characters that spell whole hidden sentences, and other format characters.
 * Names are scanned too: an invisible character in a name makes two tools
 * that look identical. One finding per run of such characters.
 */
import { approveCommand, type Detector, type Hit, scanFields } from './finding.js';
import type { Entry, TextField } from './text.js';
import { codePointName, INVISIBLE_RUN } from './unicode.js';

/** Tag characters U+E0020–U+E007E mirror printable ASCII: decoding them shows the hidden text. */
const TAG_BASE = 0xe0000;
const TAG_PRINTABLE = /[\u{E0020}-\u{E007E}]/u;
/** A zero-width joiner between two emoji builds one emoji (👩‍💻): not hidden text. */
const EMOJI_BEFORE = /[\p{Extended_Pictographic}\p{Emoji_Modifier}]\uFE0F?$/u;
const EMOJI_AFTER = /^\p{Extended_Pictographic}/u;
/** How many distinct code points a message lists. */
const LISTED = 4;

export const invisibleCharacters: Detector = {
  id: 'invisible-characters',
  severity: 'high',
  summary: 'Zero-width, bidi-control, Unicode tag and other format characters in any text field or name; one finding per run.',
  scan: (entries) => scanFields(invisibleCharacters, entries, (entry) => [...entry.names, ...entry.texts], hitsIn),
};

function hitsIn(field: TextField, entry: Entry): Hit[] {
  const fix = `Do not approve ${field.path} as is: ask the server's maintainer to remove the invisible characters, or remove the server; after a fix, review and approve with ${approveCommand(entry.contract)}`;
  const hits: Hit[] = [];
  for (const match of field.text.matchAll(INVISIBLE_RUN)) {
    const start = match.index;
    const end = start + match[0].length;
    if (isEmojiJoiner(field.text, match[0], start, end)) continue;
    hits.push({ start, end, message: describe(match[0], field), fix });
  }
  return hits;
}

function isEmojiJoiner(text: string, run: string, start: number, end: number): boolean {
  return run === '\u200D' && EMOJI_BEFORE.test(text.slice(Math.max(0, start - 3), start)) && EMOJI_AFTER.test(text.slice(end, end + 2));
}

/** "3 invisible characters (U+E0069, …) in the description, spelling "ignore…"". */
function describe(run: string, field: TextField): string {
  const chars = Array.from(run);
  const distinct = [...new Set(chars)];
  const listed = distinct.slice(0, LISTED).map(codePointName).join(', ') + (distinct.length > LISTED ? ', …' : '');
  const count = chars.length === 1 ? '1 invisible character' : `${chars.length} invisible characters`;
  const hidden = decodeTags(chars);
  return `${count} (${listed}) in the ${field.role}${hidden ? `, spelling hidden text "${hidden}"` : ''}`;
}

/** The ASCII text a run of tag characters spells, if it spells any (at most 80 characters, for one line). */
function decodeTags(chars: readonly string[]): string {
  const decoded = chars
    .filter((char) => TAG_PRINTABLE.test(char))
    .map((char) => String.fromCodePoint((char.codePointAt(0) ?? TAG_BASE) - TAG_BASE))
    .join('');
  return decoded.length > 80 ? `${decoded.slice(0, 79)}…` : decoded;
}
