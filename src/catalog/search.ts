/**
 * The ranking behind progressive disclosure (`find_tools`): an in-memory
 * BM25F index over the exposed tools, built once per catalog version and
 * queried with a natural-language string. The parts live under search/:
 * text.ts (tokenising, stemming, stopwords), synonyms.ts, fields.ts (what of
 * a tool is searched), postings.ts (the index and its precomputed scores),
 * query.ts (query words → weighted terms). This file runs a search: sum the
 * postings, favour tools matching more of the query, keep the top k.
 * Results are deterministic: ties are broken by name (code-unit order).
 */
import type { SearchableTool } from './search/fields.js';
import { buildPostings, type Postings } from './search/postings.js';
import { expandQuery, popcount, type QueryTerm } from './search/query.js';

export type { SearchableTool } from './search/fields.js';

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

export class ToolIndex {
  readonly size: number;
  private readonly postings: Postings;
  private readonly scratch: Scratch;

  constructor(tools: readonly SearchableTool[]) {
    this.size = tools.length;
    this.postings = buildPostings(tools);
    this.scratch = new Scratch(tools.length);
  }

  /**
   * The best-matching tools for a query, best first. An empty query, or one
   * made only of stopwords or unknown words, returns [].
   */
  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const limit = limitOf(options.limit, this.size);
    if (limit === 0 || typeof query !== 'string') return [];
    const { terms, concepts } = expandQuery(query, this.postings);
    if (terms.size === 0) return [];
    const touched = this.scratch.accumulate(terms, this.postings, concepts);
    const top = topK(this.scratch, touched, limit, this.postings, options.filter);
    return top.map((d) => ({ name: this.postings.names[d]!, score: this.scratch.scores[d]! }));
  }
}

/** The requested limit as a count in [0, size]; default 5, and 5 for NaN. */
function limitOf(requested: number | undefined, size: number): number {
  const value = requested ?? 5;
  return Number.isNaN(value) ? Math.min(5, size) : Math.min(Math.max(0, Math.floor(value)), size);
}

/** Per-tool accumulators reused by every search of one index (an index is searched synchronously). */
class Scratch {
  readonly scores: Float64Array;
  /** Bit i set: the tool matched the query's i-th word. */
  private readonly matched: Uint32Array;
  private readonly seen: Uint32Array;
  readonly touched: Uint32Array;
  private epoch = 0;

  constructor(size: number) {
    this.scores = new Float64Array(size);
    this.matched = new Uint32Array(size);
    this.seen = new Uint32Array(size);
    this.touched = new Uint32Array(size);
  }

  /**
   * Sums each term's postings into the scores, then applies coordination.
   * Returns how many tools were touched: `touched[0..count)`, in the order
   * first reached.
   */
  accumulate(terms: Map<number, QueryTerm>, postings: Postings, concepts: number): number {
    // `seen` marks the tools touched by this search (epoch trick: no clearing
    // of the whole arrays between searches).
    if (++this.epoch === 0xffffffff) {
      this.seen.fill(0);
      this.epoch = 1;
    }
    const { scores, matched, seen, touched, epoch } = this;
    const { docs, scores: postingScores, offsets } = postings;
    let touchedCount = 0;
    for (const [id, { weight, concepts: bits }] of terms) {
      const end = offsets[id + 1]!;
      for (let p = offsets[id]!; p < end; p++) {
        const d = docs[p]!;
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
    return touchedCount;
  }
}

/**
 * Top-k by (score desc, name asc). The filter is only consulted for tools
 * that would enter the current top-k, so policy checks stay few.
 */
function topK(scratch: Scratch, touchedCount: number, limit: number, postings: Postings, filter: ((name: string) => boolean) | undefined): number[] {
  const { scores, touched } = scratch;
  const { nameRank, names } = postings;
  const top: number[] = [];
  const better = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && nameRank[a]! < nameRank[b]!);
  for (let i = 0; i < touchedCount; i++) {
    const d = touched[i]!;
    if (top.length === limit && !better(d, top[limit - 1]!)) continue;
    if (filter && !filter(names[d]!)) continue;
    let at = top.length;
    while (at > 0 && better(d, top[at - 1]!)) at--;
    top.splice(at, 0, d);
    if (top.length > limit) top.pop();
  }
  return top;
}
