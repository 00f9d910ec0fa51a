/**
 * What the catalog holds and hands out: a routed item (its upstream, original
 * name and contract verdict) and a naming conflict between servers.
 */
import type { Verdict } from '../contracts/verdict.js';
import type { Upstream } from '../upstream/server.js';

export interface Routed<T> {
  upstream: Upstream;
  /** The name or URI the upstream knows it by. */
  original: string;
  /** The item as exposed to clients (renamed). */
  item: T;
  /** The contract verdict, when contracts are checked (pinning or the lint on). */
  contract?: Verdict;
}

export interface CatalogConflict {
  kind: 'tool' | 'prompt' | 'resource' | 'resourceTemplate';
  name: string;
  /** Which server's item is exposed; the others are hidden. */
  winner: string;
  hidden: string[];
  reason: 'collision' | 'invalid-name';
}
