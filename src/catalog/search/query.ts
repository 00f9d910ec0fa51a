/**
 * A natural-language query as the indexed terms it stands for. Each distinct
 * query word is a concept (one bit); it reaches its own stem, the stems of its
 * synonyms and, for partial words, the name tokens it is a prefix of.
 * Expansions weigh less than the word as typed; a term reached from several
 * concepts keeps the highest weight and all their bits.
 */
import type { Postings } from './postings.js';
import { SYNONYMS } from './synonyms.js';
import { FILE_NAME, STOPWORDS, stem, tokenize } from './text.js';

/** Query-side weights of the expansions, relative to the word as typed. */
const SYNONYM_WEIGHT = 0.7;
const PREFIX_WEIGHT = 0.5;
/** A partial word must be at least this long to expand to the name tokens it starts. */
const MIN_PREFIX = 3;
/** At most this many name tokens per partial word (the shortest first). */
const MAX_PREFIX_EXPANSIONS = 8;

export interface QueryTerm {
  weight: number;
  /** Bit i set: reached from the query's i-th word. */
  concepts: number;
}

export interface ExpandedQuery {
  /** Term id → its weight and concepts, in the order the query reached them. */
  terms: Map<number, QueryTerm>;
  /** How many of the query's words reached any term. */
  concepts: number;
}

type Index = Pick<Postings, 'vocabulary' | 'prefixWords' | 'prefixTerms'>;

export function expandQuery(query: string, index: Index): ExpandedQuery {
  const terms = new Map<number, QueryTerm>();
  const stems: string[] = [];
  for (const word of tokenize(query.replace(FILE_NAME, ' file '))) {
    if (STOPWORDS.has(word)) continue;
    const s = stem(word);
    if (stems.includes(s)) continue;
    const bit = 1 << Math.min(stems.length, 31);
    stems.push(s);
    const add = (term: string | number, weight: number) => {
      const id = typeof term === 'number' ? term : index.vocabulary.get(term);
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
    if (word.length >= MIN_PREFIX) prefixMatches(index, word, s, add);
  }
  let concepts = 0;
  for (const t of terms.values()) concepts |= t.concepts;
  return { terms, concepts: popcount(concepts) };
}

/** Name tokens that `word` is a proper prefix of (repo → repository, dir → directory). */
function prefixMatches(index: Index, word: string, stemmed: string, add: (term: number, weight: number) => void): void {
  const words = index.prefixWords;
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (words[mid]! < word) lo = mid + 1;
    else hi = mid;
  }
  const self = index.vocabulary.get(stemmed);
  const found: number[] = [];
  for (let i = lo; i < words.length && words[i]!.startsWith(word); i++) {
    if (words[i] === word || index.prefixTerms[i] === self) continue;
    found.push(i);
  }
  // The closest completions first (shortest, then alphabetical), a bounded number.
  found.sort((a, b) => words[a]!.length - words[b]!.length || a - b);
  for (const i of found.slice(0, MAX_PREFIX_EXPANSIONS)) add(index.prefixTerms[i]!, PREFIX_WEIGHT);
}

/** Set bits of a 32-bit word. */
export function popcount(x: number): number {
  let v = x >>> 0;
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
