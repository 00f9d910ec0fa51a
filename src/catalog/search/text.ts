/**
 * Text normalisation shared by the index and the query, which only have to
 * agree with each other: text is lowercased, split on anything that is not a
 * letter or digit (and on camelCase and letter/digit boundaries), stripped of
 * a small stopword list and reduced by a conservative suffix stemmer.
 */

export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or nor but if then else so than too very just also only ' +
    'of to in on at by for from with without into onto over under about as via per ' +
    'is are was were be been being am do does did doing done have has had having ' +
    'i me my mine we us our you your he she him her they them their it its ' +
    'this that these those there here what which who whom whose when where why how ' +
    'all any some each every both either neither such same other another ' +
    'can could would should will shall may might must want need needs like let lets ' +
    'please now right up out off again there once ' +
    'tool tools use using used e g eg ie etc ' +
    // "a folder called reports": what follows names an argument, the word itself means nothing.
    'called named titled'
  ).split(' '),
);

/**
 * A file name in a query (notes.txt, config.yaml) stands for "a file": its
 * base name and extension are argument values, not what the tool does.
 * (`.js` is left out: next.js, vue.js are products more often than files.)
 */
export const FILE_NAME =
  /[\p{L}\p{N}_-]+\.(?:txt|md|markdown|rst|json|jsonl|ya?ml|toml|ini|cfg|conf|env|csv|tsv|xml|html?|css|pdf|docx?|xlsx?|pptx?|png|jpe?g|gif|svg|webp|mp3|mp4|wav|log|sql|py|mjs|cjs|ts|tsx|jsx|go|rs|java|rb|php|c|h|cpp|sh|zip|gz|tgz|tar)\b/giu;

/** Porter's "contains a vowel" test, so that `string` or `thing` are left alone. */
const HAS_VOWEL = /[aeiouy]/;

/**
 * A deliberately small suffix stemmer: plurals (-s, -es, -ies), -ing and -ed,
 * then a trailing -e, so that create/creates/created/creating all meet at
 * `creat`. It only has to be consistent between the index and the query.
 */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (/(?:ss|x|ch|sh|zz)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  else if (w.endsWith('ing') && w.length - 3 >= 3 && HAS_VOWEL.test(w.slice(0, -3))) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ied') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('ed') && !w.endsWith('eed') && w.length - 2 >= 3 && HAS_VOWEL.test(w.slice(0, -2))) w = undouble(w.slice(0, -2));
  if (w.length >= 4 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/** runn → run, logg → log; not ll, ss, zz (install, pass, buzz) nor dd (add). */
function undouble(w: string): string {
  const n = w.length;
  if (n >= 3 && w[n - 1] === w[n - 2] && !'lszd'.includes(w[n - 1]!) && !HAS_VOWEL.test(w[n - 1]!)) return w.slice(0, -1);
  return w;
}

const NON_WORD = /[^\p{L}\p{N}]+/u;
const SIMPLE_WORD = /^(?:[A-Za-z]?[a-z]+|[A-Z]+)$/;
/** Zero-width boundaries: aB, ABc (before the B), a1, 1a. */
const BOUNDARY = /(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/gu;
const ALL_DIGITS = /^\p{N}+$/u;

/**
 * Splits text into lowercase words: on anything but letters and digits, then
 * on camelCase and letter/digit boundaries. A word that mixes letters and
 * digits (s3, ec2, k8s, base64) is also kept whole. Single letters and bare
 * numbers carry no meaning for tool search and are dropped.
 */
export function tokenize(text: string, out: string[] = []): string[] {
  for (const chunk of text.split(NON_WORD)) {
    if (chunk === '') continue;
    // Fast path: "create", "Create", "CREATE" have no inner boundary.
    if (SIMPLE_WORD.test(chunk)) {
      push(chunk.toLowerCase(), out);
      continue;
    }
    const split = chunk.replace(BOUNDARY, ' ');
    if (split === chunk) {
      push(chunk.toLowerCase(), out);
      continue;
    }
    for (const p of split.toLowerCase().split(' ')) push(p, out);
    if (/\p{N}/u.test(chunk) && /\p{L}/u.test(chunk)) push(chunk.toLowerCase(), out);
  }
  return out;
}

function push(word: string, out: string[]): void {
  if (word.length < 2 || ALL_DIGITS.test(word)) return;
  out.push(word);
}

/** Stemmed terms of a text, stopwords removed; `stems` caches stem() across a build. */
export function terms(text: string, stems: Map<string, string>): string[] {
  const out: string[] = [];
  for (const w of tokenize(text)) {
    if (STOPWORDS.has(w)) continue;
    let s = stems.get(w);
    if (s === undefined) stems.set(w, (s = stem(w)));
    out.push(s);
  }
  return out;
}
