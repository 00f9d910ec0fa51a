/**
 * The BM25F index over the tools, built once per catalog version. Everything
 * that does not depend on the query (term frequencies, length normalisation,
 * idf, saturation) is folded into one precomputed score per posting, so a
 * search is a sum over a few postings lists (see ../search.ts).
 */
import { ARG_DESCRIPTION, ARG_NAME, DESCRIPTION, FIELDS, NAME, TITLE, toolTexts, type SearchableTool } from './fields.js';
import { STOPWORDS, terms, tokenize } from './text.js';

/** BM25F field weights: name > title > argument names > description. */
const WEIGHT = [3.0, 2.0, 1.5, 1.0, 0.5] as const;
/** Length normalisation per field: names and titles are short and uniform. */
const B = [0.3, 0.3, 0.5, 0.75, 0.75] as const;
const K1 = 1.2;

export interface Postings {
  names: string[];
  /** Position of each tool in code-unit order of names, for tie-breaking. */
  nameRank: Uint32Array;
  vocabulary: Map<string, number>;
  /** Postings of term t: docs[offsets[t]..offsets[t+1]) with their precomputed scores. */
  offsets: Uint32Array;
  docs: Uint32Array;
  scores: Float64Array;
  /** Unstemmed name tokens, sorted, with the term each belongs to: for prefix matches. */
  prefixWords: string[];
  prefixTerms: Uint32Array;
}

export function buildPostings(tools: readonly SearchableTool[]): Postings {
  const names = tools.map((t) => t.name);
  const counts = countTerms(tools);
  const prefix = [...counts.rawNameWords].sort((a, b) => compareNames(a[0], b[0]));
  return {
    names,
    nameRank: rankNames(names),
    vocabulary: counts.vocabulary,
    ...scorePostings(counts, tools.length),
    prefixWords: prefix.map(([w]) => w),
    prefixTerms: Uint32Array.from(prefix.map(([, id]) => id)),
  };
}

/** Code-unit order, independent of locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rankNames(names: readonly string[]): Uint32Array {
  const order = names.map((_, i) => i).sort((a, b) => compareNames(names[a]!, names[b]!) || a - b);
  const rank = new Uint32Array(names.length);
  order.forEach((doc, r) => (rank[doc] = r));
  return rank;
}

/**
 * Term frequencies per field, and field lengths. Entries are (tool, term)
 * pairs, a tool's entries contiguous from docStart[d]; their per-field counts
 * sit FIELDS apart in entryTf.
 */
interface TermCounts {
  vocabulary: Map<string, number>;
  docStart: Uint32Array;
  entryTerm: number[];
  entryTf: number[];
  lengths: Float64Array;
  totals: Float64Array;
  /** Unstemmed name word → its term id. */
  rawNameWords: Map<string, number>;
}

function countTerms(tools: readonly SearchableTool[]): TermCounts {
  const n = tools.length;
  const vocabulary = new Map<string, number>();
  const termId = (term: string) => {
    let id = vocabulary.get(term);
    if (id === undefined) vocabulary.set(term, (id = vocabulary.size));
    return id;
  };
  const docStart = new Uint32Array(n + 1);
  const entryTerm: number[] = [];
  const entryTf: number[] = [];
  const lengths = new Float64Array(n * FIELDS);
  const totals = new Float64Array(FIELDS);
  const rawNameWords = new Map<string, number>();
  /** The current tool's entry of each term, valid while lastDoc[term] === d. */
  const lastDoc: number[] = [];
  const entryOf: number[] = [];
  const stems = new Map<string, string>();
  for (let d = 0; d < n; d++) {
    docStart[d] = entryTerm.length;
    const count = (field: number, words: readonly string[]) => {
      for (const w of words) {
        const id = termId(w);
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
    const text = toolTexts(tools[d]!);
    count(NAME, terms(text.name, stems));
    // stems now holds every name word: their terms are known.
    for (const w of tokenize(text.name)) if (!STOPWORDS.has(w)) rawNameWords.set(w, termId(stems.get(w)!));
    count(TITLE, terms(text.title, stems));
    count(DESCRIPTION, terms(text.description, stems));
    for (const a of text.argNames) count(ARG_NAME, terms(a, stems));
    for (const a of text.argDescriptions) count(ARG_DESCRIPTION, terms(a, stems));
  }
  docStart[n] = entryTerm.length;
  return { vocabulary, docStart, entryTerm, entryTf, lengths, totals, rawNameWords };
}

/** One BM25F score per (term, tool), idf and saturation included, grouped by term. */
function scorePostings(c: TermCounts, n: number): Pick<Postings, 'offsets' | 'docs' | 'scores'> {
  const { vocabulary, docStart, entryTerm, entryTf, lengths, totals } = c;
  const average = totals.map((t) => (n > 0 && t > 0 ? t / n : 1));
  const termCount = vocabulary.size;
  const df = new Uint32Array(termCount);
  for (const id of entryTerm) df[id]!++;
  const idf = new Float64Array(termCount);
  for (let t = 0; t < termCount; t++) idf[t] = Math.log(1 + (n - df[t]! + 0.5) / (df[t]! + 0.5));
  const offsets = new Uint32Array(termCount + 1);
  for (let t = 0; t < termCount; t++) offsets[t + 1] = offsets[t]! + df[t]!;
  const docs = new Uint32Array(entryTerm.length);
  const scores = new Float64Array(entryTerm.length);
  const fill = offsets.slice(0, termCount);
  const norm = new Float64Array(FIELDS);
  for (let d = 0; d < n; d++) {
    for (let f = 0; f < FIELDS; f++) norm[f] = WEIGHT[f]! / (1 - B[f]! + (B[f]! * lengths[d * FIELDS + f]!) / average[f]!);
    for (let e = docStart[d]!; e < docStart[d + 1]!; e++) {
      const id = entryTerm[e]!;
      let tf = 0;
      for (let f = 0; f < FIELDS; f++) tf += entryTf[e * FIELDS + f]! * norm[f]!;
      const at = fill[id]!++;
      docs[at] = d;
      scores[at] = (idf[id]! * tf * (K1 + 1)) / (K1 + tf);
    }
  }
  return { offsets, docs, scores };
}
