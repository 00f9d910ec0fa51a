/**
 * Which holding to take back when a bounded resource is full and someone
 * else needs one: the gateway's sessions at `limits.maxSessions`, and a
 * stdio server's children at `maxProcesses`. Pure: callers list what is
 * held, by whom, whether it is idle and when it was last used.
 *
 * The rule, the same for both:
 * - only an idle holding is taken (a call in flight is never cut off);
 * - the holder with the most loses first, so whoever is over a fair share
 *   gives way before anyone under it;
 * - another holder loses one only if it holds at least two more than the
 *   requester: after the move it still holds at least as many, so two
 *   holders can never take the same slot back and forth;
 * - the requester's own holdings may always be taken (it trades an old
 *   idle one for the new one), and on a tie it is preferred over another's;
 * - among the chosen holder's idle ones, the least recently used goes.
 */

export interface Holding {
  /** Who holds it: a principal id. */
  readonly holder: string;
  /** Nothing in flight on it. */
  readonly idle: boolean;
  /** When it was last used (any clock, compared only with each other). */
  readonly lastUsed: number;
}

/** The holding to take back so `requester` can have one, or undefined when none may be taken. */
export function pickReclaim<T extends Holding>(holdings: Iterable<T>, requester: string): T | undefined {
  const all = [...holdings];
  const held = new Map<string, number>();
  for (const h of all) held.set(h.holder, (held.get(h.holder) ?? 0) + 1);
  const mine = held.get(requester) ?? 0;
  let best: T | undefined;
  let bestHeld = 0;
  for (const h of all) {
    if (!h.idle) continue;
    const count = held.get(h.holder)!;
    if (h.holder !== requester && count < mine + 2) continue;
    if (!best || before(h, count, best, bestHeld, requester)) [best, bestHeld] = [h, count];
  }
  return best;
}

/** Whether `a` (whose holder holds `aHeld`) should go before `b`. */
function before(a: Holding, aHeld: number, b: Holding, bHeld: number, requester: string): boolean {
  if (aHeld !== bHeld) return aHeld > bHeld;
  const aMine = a.holder === requester;
  if (aMine !== (b.holder === requester)) return aMine;
  return a.lastUsed < b.lastUsed;
}
