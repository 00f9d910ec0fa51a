/**
 * A small confusables table and the "skeleton" a name reduces to, so two
 * names that render alike compare equal. Not Unicode's full confusables.txt:
 * the few dozen Cyrillic, Greek and Armenian letters that pass for Latin in
 * tool names, plus NFKC (which folds fullwidth and mathematical letters and
 * digits to ASCII) and the ASCII look-alikes 0/o, 1/l, I/l, rn/m.
 */
import { INVISIBLE_RUN } from './unicode.js';

/**
 * Look-alike → the Latin letter it passes for (lowercase: skeletons are
 * lowercased). Capital I look-alikes map to l, as Latin I does.
 */
const CONFUSABLES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    // Cyrillic, lowercase and uppercase.
    а: 'a',
    в: 'b',
    е: 'e',
    о: 'o',
    р: 'p',
    с: 'c',
    у: 'y',
    ү: 'y',
    х: 'x',
    і: 'i',
    ј: 'j',
    ԁ: 'd',
    ѕ: 's',
    ԛ: 'q',
    ԝ: 'w',
    һ: 'h',
    ӏ: 'l',
    ѵ: 'v',
    А: 'a',
    В: 'b',
    Е: 'e',
    К: 'k',
    М: 'm',
    Н: 'h',
    О: 'o',
    Р: 'p',
    С: 'c',
    Т: 't',
    Х: 'x',
    У: 'y',
    І: 'l',
    Ј: 'j',
    Ѕ: 's',
    Ԛ: 'q',
    Ԝ: 'w',
    Ӏ: 'l',
    // Greek.
    Α: 'a',
    Β: 'b',
    Ε: 'e',
    Ζ: 'z',
    Η: 'h',
    Ι: 'l',
    Κ: 'k',
    Μ: 'm',
    Ν: 'n',
    Ο: 'o',
    Ρ: 'p',
    Τ: 't',
    Υ: 'y',
    Χ: 'x',
    α: 'a',
    ι: 'i',
    κ: 'k',
    ν: 'v',
    ο: 'o',
    ρ: 'p',
    υ: 'u',
    χ: 'x',
    ϲ: 'c',
    ϳ: 'j',
    // Armenian and Latin extensions.
    օ: 'o',
    ս: 'u',
    հ: 'h',
    ո: 'n',
    ı: 'i',
    ɑ: 'a',
    ɡ: 'g',
  }),
);

/** Where ASCII look-alikes sit in a name, for the span. */
export const ASCII_LOOKALIKE = /[01I]|rn/g;

/** Scripts whose letters pass for Latin; a name mixing them with Latin (or each other) is suspect. */
const LOOKALIKE_SCRIPTS: readonly RegExp[] = [/\p{Script=Cyrillic}/u, /\p{Script=Greek}/u, /\p{Script=Armenian}/u, /\p{Script=Cherokee}/u];
const LATIN = /\p{Script=Latin}/u;

/** The name as it reads: NFKC, invisible characters dropped, look-alikes mapped to Latin, lowercase. */
export function skeleton(name: string): string {
  let out = '';
  for (const char of name.normalize('NFKC').replace(INVISIBLE_RUN, '')) out += CONFUSABLES.get(char) ?? char;
  return asciiSkeleton(out);
}

/** The ASCII part of the skeleton: I, 0, 1 and rn read as l, o, l and m. */
export function asciiSkeleton(name: string): string {
  // Capital I before lowercasing (it reads as l, not i); rn after, so "RN" folds too.
  return name.replace(/I/g, 'l').toLowerCase().replace(/0/g, 'o').replace(/1/g, 'l').replace(/rn/g, 'm');
}

/** True when the name's letters come from Latin and a look-alike script, or from two look-alike scripts. */
export function mixesScripts(name: string): boolean {
  const letters = Array.from(name.normalize('NFKC'));
  const scripts = LOOKALIKE_SCRIPTS.filter((script) => letters.some((char) => script.test(char))).length;
  return scripts >= 2 || (scripts === 1 && letters.some((char) => LATIN.test(char)));
}

export function isAscii(text: string): boolean {
  return /^[\x20-\x7E]*$/.test(text);
}
