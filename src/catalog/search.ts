/**
 * The ranking behind progressive disclosure (`find_tools`): an in-memory
 * BM25F index over the exposed tools, built once per catalog version and
 * queried with a natural-language string.
 *
 * Fields and their weights: the tool name (split on `__`, `_`, `-`, `.`,
 * camelCase and digits) > title > argument names > description > argument
 * descriptions. Text is lowercased, split on anything that is not a letter or
 * digit, stripped of a small stopword list and reduced by a conservative
 * suffix stemmer. Queries are expanded with a few tool-domain synonyms and,
 * for partial words, with name tokens they are a prefix of; expansions score
 * less than the word itself.
 *
 * Everything that does not depend on the query (term frequencies, length
 * normalisation, idf, saturation) is folded into one precomputed score per
 * posting, so a search is a sum over a few postings lists plus a top-k pass.
 * Results are deterministic: ties are broken by name (code-unit order).
 */

export interface SearchableTool {
  name: string;
  description?: string;
  title?: string;
  /**
   * Property names and their `description`s are indexed (nested objects and
   * arrays too). Typed loosely so that an SDK `Tool`, whose properties are
   * arbitrary JSON, can be passed as it is.
   */
  inputSchema?: { properties?: Record<string, unknown> };
  /** `annotations.title` stands in for a missing `title`. */
  annotations?: Record<string, unknown>;
}

export interface SearchOptions {
  /** How many results at most (default 5). */
  limit?: number;
  /** Only tools whose exposed name passes are returned (policy, profile). */
  filter?: (name: string) => boolean;
}

export interface SearchHit {
  name: string;
  score: number;
}

// ---------------------------------------------------------------------------
// Scoring parameters.

/** Field indices. */
const NAME = 0;
const TITLE = 1;
const ARG_NAME = 2;
const DESCRIPTION = 3;
const ARG_DESCRIPTION = 4;
const FIELDS = 5;
/** BM25F field weights: name > title > argument names > description. */
const WEIGHT = [3.0, 2.0, 1.5, 1.0, 0.5] as const;
/** Length normalisation per field: names and titles are short and uniform. */
const B = [0.3, 0.3, 0.5, 0.75, 0.75] as const;
const K1 = 1.2;
/** Query-side weights of the expansions, relative to the word as typed. */
const SYNONYM_WEIGHT = 0.7;
const PREFIX_WEIGHT = 0.5;
/** A partial word must be at least this long to expand to the name tokens it starts. */
const MIN_PREFIX = 3;
/** At most this many name tokens per partial word (the shortest first). */
const MAX_PREFIX_EXPANSIONS = 8;
/** Nested schemas (arrays of objects, objects) are indexed down to this depth. */
const MAX_SCHEMA_DEPTH = 3;

// ---------------------------------------------------------------------------
// Text normalisation.

const STOPWORDS = new Set(
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
const FILE_NAME = /[\p{L}\p{N}_-]+\.(?:txt|md|markdown|rst|json|jsonl|ya?ml|toml|ini|cfg|conf|env|csv|tsv|xml|html?|css|pdf|docx?|xlsx?|pptx?|png|jpe?g|gif|svg|webp|mp3|mp4|wav|log|sql|py|mjs|cjs|ts|tsx|jsx|go|rs|java|rb|php|c|h|cpp|sh|zip|gz|tgz|tar)\b/giu;

/**
 * Synonym groups, written as plain words; every word of a group expands to the
 * others. `a: b c` lines are one-way (a expands to b and c).
 */
const SYNONYM_GROUPS: readonly string[] = [
  'delete remove erase destroy purge trash rm del',
  'create add new make insert register',
  'list show enumerate display browse ls',
  'get read fetch retrieve view load',
  'file document doc',
  'directory folder dir',
  'search find query lookup look',
  'write save store put',
  'update edit modify change',
  'set: update',
  'issue ticket bug',
  'message msg',
  'repository repo',
  'send post publish',
  'user member person people',
  'email mail inbox',
  'meeting event appointment',
  'kubernetes k8s kube kubectl',
  'database db',
  'stop halt shutdown',
  'start launch boot',
  'restart reboot bounce',
  'error exception crash failure',
  'comment reply',
  'instance vm machine',
  'image picture photo',
  'compress gzip zip',
  'environment env',
  'variable var',
  'config configuration settings',
  'remember memory memorize recall',
  'cancel abort',
  'pr: pull request',
  'mr: merge request',
];

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
const ALL_DIGITS = /^\p{N}+$/u;

/** Stemmed terms of a text, stopwords removed; `stems` caches stem() across a build. */
function terms(text: string, stems: Map<string, string>): string[] {
  const out: string[] = [];
  for (const w of tokenize(text)) {
    if (STOPWORDS.has(w)) continue;
    let s = stems.get(w);
    if (s === undefined) stems.set(w, (s = stem(w)));
    out.push(s);
  }
  return out;
}

/** stem → stems it expands to (excluding itself). */
const SYNONYMS: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, Set<string>>();
  const add = (from: string, to: string) => {
    if (from === to) return;
    let set = map.get(from);
    if (!set) map.set(from, (set = new Set()));
    set.add(to);
  };
  for (const line of SYNONYM_GROUPS) {
    const colon = line.indexOf(':');
    if (colon >= 0) {
      const from = stem(line.slice(0, colon).trim());
      for (const to of line.slice(colon + 1).trim().split(/\s+/)) add(from, stem(to));
      continue;
    }
    const group = line.split(/\s+/).map(stem);
    for (const a of group) for (const b of group) add(a, b);
  }
  return new Map([...map].map(([k, v]) => [k, [...v]]));
})();

// ---------------------------------------------------------------------------
// The index.

interface LooseSchema {
  description?: unknown;
  properties?: Record<string, LooseSchema>;
  items?: LooseSchema | LooseSchema[];
}

export class ToolIndex {
  readonly size: number;
  private readonly names: string[];
  /** Position of each tool in code-unit order of names, for tie-breaking. */
  private readonly nameRank: Uint32Array;
  private readonly vocabulary = new Map<string, number>();
  /** Postings of term t: docs[offsets[t]..offsets[t+1]) with their precomputed scores. */
  private readonly offsets: Uint32Array;
  private readonly postingDocs: Uint32Array;
  private readonly postingScores: Float64Array;
  /** Unstemmed name tokens, sorted, with the term each belongs to: for prefix matches. */
  private readonly prefixWords: string[];
  private readonly prefixTerms: Uint32Array;
  /** Scratch space reused by every search. */
  private readonly scores: Float64Array;
  /** Bit i set: the tool matched the query's i-th word. */
  private readonly matched: Uint32Array;
  private readonly seen: Uint32Array;
  private readonly touched: Uint32Array;
  private epoch = 0;

  constructor(tools: readonly SearchableTool[]) {
    const n = tools.length;
    this.size = n;
    this.names = tools.map((t) => t.name);
    const order = this.names.map((_, i) => i).sort((a, b) => compareNames(this.names[a]!, this.names[b]!) || a - b);
    this.nameRank = new Uint32Array(n);
    order.forEach((doc, rank) => (this.nameRank[doc] = rank));

    // Pass 1: term frequencies per field, and field lengths. Entries are
    // (tool, term) pairs, a tool's entries contiguous from docStart[d]; their
    // per-field counts sit FIELDS apart in entryTf.
    const docStart = new Uint32Array(n + 1);
    const entryTerm: number[] = [];
    const entryTf: number[] = [];
    /** The current tool's entry of each term, valid while lastDoc[term] === d. */
    const lastDoc: number[] = [];
    const entryOf: number[] = [];
    const lengths = new Float64Array(n * FIELDS);
    const totals = new Float64Array(FIELDS);
    const rawNameWords = new Map<string, number>();
    const stems = new Map<string, string>();
    for (let d = 0; d < n; d++) {
      const tool = tools[d]!;
      docStart[d] = entryTerm.length;
      const count = (field: number, words: readonly string[]) => {
        for (const w of words) {
          const id = this.termId(w);
          if (lastDoc[id] !== d) {
            lastDoc[id] = d;
            entryOf[id] = entryTerm.length;
            entryTerm.push(id);
            for (let f = 0; f < FIELDS; f++) entryTf.push(0);
          }
          entryTf[entryOf[id]! * FIELDS + field]! += 1;
        }
        lengths[d * FIELDS + field]! += words.length;
        totals[field]! += words.length;
      };
      const name = typeof tool.name === 'string' ? tool.name : '';
      count(NAME, terms(name, stems));
      for (const w of tokenize(name)) if (!STOPWORDS.has(w)) rawNameWords.set(w, this.termId(stems.get(w)!));
      const title = typeof tool.title === 'string' ? tool.title : typeof tool.annotations?.['title'] === 'string' ? (tool.annotations['title'] as string) : '';
      count(TITLE, terms(title, stems));
      count(DESCRIPTION, terms(typeof tool.description === 'string' ? tool.description : '', stems));
      const argNames: string[] = [];
      const argDescriptions: string[] = [];
      collectArguments(tool.inputSchema as LooseSchema | undefined, 0, argNames, argDescriptions);
      for (const a of argNames) count(ARG_NAME, terms(a, stems));
      for (const a of argDescriptions) count(ARG_DESCRIPTION, terms(a, stems));
    }
    docStart[n] = entryTerm.length;
    const average = totals.map((t) => (n > 0 && t > 0 ? t / n : 1));

    // Pass 2: one BM25F score per (term, tool), idf and saturation included.
    const termCount = this.vocabulary.size;
    const df = new Uint32Array(termCount);
    for (const id of entryTerm) df[id]!++;
    const idf = new Float64Array(termCount);
    for (let t = 0; t < termCount; t++) idf[t] = Math.log(1 + (n - df[t]! + 0.5) / (df[t]! + 0.5));
    this.offsets = new Uint32Array(termCount + 1);
    for (let t = 0; t < termCount; t++) this.offsets[t + 1] = this.offsets[t]! + df[t]!;
    this.postingDocs = new Uint32Array(entryTerm.length);
    this.postingScores = new Float64Array(entryTerm.length);
    const fill = this.offsets.slice(0, termCount);
    const norm = new Float64Array(FIELDS);
    for (let d = 0; d < n; d++) {
      for (let f = 0; f < FIELDS; f++) norm[f] = WEIGHT[f]! / (1 - B[f]! + (B[f]! * lengths[d * FIELDS + f]!) / average[f]!);
      for (let e = docStart[d]!; e < docStart[d + 1]!; e++) {
        const id = entryTerm[e]!;
        let tf = 0;
        for (let f = 0; f < FIELDS; f++) tf += entryTf[e * FIELDS + f]! * norm[f]!;
        const at = fill[id]!++;
        this.postingDocs[at] = d;
        this.postingScores[at] = (idf[id]! * tf * (K1 + 1)) / (K1 + tf);
      }
    }

    const prefix = [...rawNameWords].sort((a, b) => compareNames(a[0], b[0]));
    this.prefixWords = prefix.map(([w]) => w);
    this.prefixTerms = Uint32Array.from(prefix.map(([, id]) => id));
    this.scores = new Float64Array(n);
    this.matched = new Uint32Array(n);
    this.seen = new Uint32Array(n);
    this.touched = new Uint32Array(n);
  }

  /**
   * The best-matching tools for a query, best first. An empty query, or one
   * made only of stopwords or unknown words, returns [].
   */
  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const requested = options.limit ?? 5;
    const limit = Number.isNaN(requested) ? Math.min(5, this.size) : Math.min(Math.max(0, Math.floor(requested)), this.size);
    if (limit === 0 || typeof query !== 'string') return [];
    const { terms, concepts } = this.queryTerms(query);
    if (terms.size === 0) return [];

    // Accumulate. `seen` marks the tools touched by this search (epoch trick:
    // no clearing of the whole arrays between searches).
    if (++this.epoch === 0xffffffff) {
      this.seen.fill(0);
      this.epoch = 1;
    }
    const { scores, matched, seen, touched, postingDocs, postingScores, offsets, epoch } = this;
    let touchedCount = 0;
    for (const [id, { weight, concepts: bits }] of terms) {
      const end = offsets[id + 1]!;
      for (let p = offsets[id]!; p < end; p++) {
        const d = postingDocs[p]!;
        if (seen[d] !== epoch) {
          seen[d] = epoch;
          scores[d] = 0;
          matched[d] = 0;
          touched[touchedCount++] = d;
        }
        scores[d]! += weight * postingScores[p]!;
        matched[d]! |= bits;
      }
    }
    // Coordination: a tool that matches more of the query's words ranks above
    // one that matches a single rare word very well.
    for (let i = 0; i < touchedCount; i++) {
      const d = touched[i]!;
      scores[d]! *= popcount(matched[d]!) / concepts;
    }

    // Top-k by (score desc, name asc). The filter is only consulted for tools
    // that would enter the current top-k, so policy checks stay few.
    const top: number[] = [];
    const better = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && this.nameRank[a]! < this.nameRank[b]!);
    for (let i = 0; i < touchedCount; i++) {
      const d = touched[i]!;
      if (top.length === limit && !better(d, top[limit - 1]!)) continue;
      if (options.filter && !options.filter(this.names[d]!)) continue;
      let at = top.length;
      while (at > 0 && better(d, top[at - 1]!)) at--;
      top.splice(at, 0, d);
      if (top.length > limit) top.pop();
    }
    return top.map((d) => ({ name: this.names[d]!, score: scores[d]! }));
  }

  /**
   * The indexed terms a query stands for. Each distinct query word is a
   * concept (one bit); a term reached from several concepts keeps the highest
   * weight and all their bits.
   */
  private queryTerms(query: string): { terms: Map<number, { weight: number; concepts: number }>; concepts: number } {
    const terms = new Map<number, { weight: number; concepts: number }>();
    const stems: string[] = [];
    for (const word of tokenize(query.replace(FILE_NAME, ' file '))) {
      if (STOPWORDS.has(word)) continue;
      const s = stem(word);
      if (stems.includes(s)) continue;
      const bit = 1 << Math.min(stems.length, 31);
      stems.push(s);
      const add = (term: string | number, weight: number) => {
        const id = typeof term === 'number' ? term : this.vocabulary.get(term);
        if (id === undefined) return;
        const known = terms.get(id);
        if (!known) terms.set(id, { weight, concepts: bit });
        else {
          known.weight = Math.max(known.weight, weight);
          known.concepts |= bit;
        }
      };
      add(s, 1);
      for (const syn of SYNONYMS.get(s) ?? []) add(syn, SYNONYM_WEIGHT);
      if (word.length >= MIN_PREFIX) this.prefixMatches(word, s, add);
    }
    let concepts = 0;
    for (const t of terms.values()) concepts |= t.concepts;
    return { terms, concepts: popcount(concepts) };
  }

  /** Name tokens that `word` is a proper prefix of (repo → repository, dir → directory). */
  private prefixMatches(word: string, stemmed: string, add: (term: number, weight: number) => void): void {
    const words = this.prefixWords;
    let lo = 0;
    let hi = words.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (words[mid]! < word) lo = mid + 1;
      else hi = mid;
    }
    const self = this.vocabulary.get(stemmed);
    const found: number[] = [];
    for (let i = lo; i < words.length && words[i]!.startsWith(word); i++) {
      if (words[i] === word || this.prefixTerms[i] === self) continue;
      found.push(i);
    }
    // The closest completions first (shortest, then alphabetical), a bounded number.
    found.sort((a, b) => words[a]!.length - words[b]!.length || a - b);
    for (const i of found.slice(0, MAX_PREFIX_EXPANSIONS)) add(this.prefixTerms[i]!, PREFIX_WEIGHT);
  }

  private termId(term: string): number {
    let id = this.vocabulary.get(term);
    if (id === undefined) this.vocabulary.set(term, (id = this.vocabulary.size));
    return id;
  }
}

/** Property names and descriptions of an input schema, nested objects and arrays included. */
function collectArguments(schema: LooseSchema | undefined, depth: number, names: string[], descriptions: string[]): void {
  if (!schema || typeof schema !== 'object' || depth > MAX_SCHEMA_DEPTH) return;
  const props = schema.properties;
  if (props && typeof props === 'object') {
    for (const [name, prop] of Object.entries(props)) {
      names.push(name);
      if (prop && typeof prop === 'object') {
        if (typeof prop.description === 'string') descriptions.push(prop.description);
        collectArguments(prop, depth + 1, names, descriptions);
      }
    }
  }
  const items = schema.items;
  if (Array.isArray(items)) for (const item of items) collectArguments(item, depth + 1, names, descriptions);
  else if (items && typeof items === 'object') collectArguments(items, depth + 1, names, descriptions);
}

function popcount(x: number): number {
  let v = x >>> 0;
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Code-unit order, independent of locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
