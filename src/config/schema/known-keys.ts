/**
 * Which keys the schema knows at a path, and which of them a typo most
 * likely meant: the "did you mean" of config and policy issues.
 */
import { ConfigFileSchema } from './file.js';

/** The parts of zod's internal definitions that knownKeysAt walks. */
type Def = {
  type: string;
  innerType?: Node;
  in?: Node;
  shape?: Record<string, Node>;
  valueType?: Node;
  element?: Node;
  options?: Node[];
  /** Set on a discriminated union. */
  discriminator?: string;
};
type Node = { _zod: { def: Def; propValues?: Record<string, Set<unknown>> } };
const root = ConfigFileSchema as unknown as Node;

/**
 * Keys the schema knows for the object at `segs` (for "did you mean" fixes).
 * `value` (the data at the same level as `node`) picks the option of a
 * discriminated union by its discriminator; without it the first option is used.
 */
export function knownKeysAt(segs: readonly PropertyKey[], node: Node = root, value?: unknown): string[] | undefined {
  const def = node._zod.def;
  const inner = def.innerType ?? def.in;
  if (inner) return knownKeysAt(segs, inner, value);
  if (def.type === 'union') {
    const options = def.options ?? [];
    const tag = def.discriminator;
    const here = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    const picked = tag === undefined ? undefined : options.find((o) => o._zod.propValues?.[tag]?.has(here[tag]));
    for (const option of picked ? [picked] : options) {
      const keys = knownKeysAt(segs, option, value);
      if (keys) return keys;
    }
    return undefined;
  }
  const [head, ...rest] = segs;
  if (head === undefined) return def.shape ? Object.keys(def.shape) : undefined;
  const next = def.shape?.[String(head)] ?? def.valueType ?? def.element;
  return next ? knownKeysAt(rest, next, (value as Record<PropertyKey, unknown> | undefined)?.[head]) : undefined;
}

/** The candidate closest to `word` (edit distance), if close enough to be a likely typo. */
export function closestKey(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
