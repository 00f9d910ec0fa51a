/**
 * The reclaim rule shared by the session cap and maxProcesses: idle only,
 * the heaviest holder first, never a move two holders could undo, the
 * requester's own on a tie, and the least recently used of the chosen.
 */
import { describe, expect, it } from 'vitest';
import { pickReclaim, type Holding } from '../../../src/core/fair-share.js';

interface Named extends Holding {
  name: string;
}
const h = (name: string, holder: string, lastUsed: number, idle = true): Named => ({ name, holder, lastUsed, idle });

describe('pickReclaim', () => {
  it('takes nothing from an empty list or when everything is busy', () => {
    expect(pickReclaim([], 'a')).toBeUndefined();
    expect(pickReclaim([h('a1', 'a', 1, false), h('b1', 'b', 2, false), h('b2', 'b', 3, false)], 'c')).toBeUndefined();
  });

  it("takes the requester's own least recently used idle holding", () => {
    const picked = pickReclaim([h('a1', 'a', 30), h('a2', 'a', 10, false), h('a3', 'a', 20)], 'a');
    expect(picked?.name).toBe('a3');
  });

  it('takes from the holder with the most, its least recently used idle one', () => {
    // c3 is the oldest but busy.
    const holdings = [h('b1', 'b', 1), h('b2', 'b', 2), h('c1', 'c', 4), h('c2', 'c', 2), h('c3', 'c', 0, false)];
    expect(pickReclaim(holdings, 'a')?.name).toBe('c2');
  });

  it('skips a heavier holder with nothing idle for the next one that has', () => {
    const holdings = [h('c1', 'c', 1, false), h('c2', 'c', 2, false), h('c3', 'c', 3, false), h('b1', 'b', 9), h('b2', 'b', 8)];
    expect(pickReclaim(holdings, 'a')?.name).toBe('b2');
  });

  it('never takes from another holder unless it holds at least two more than the requester', () => {
    // a holds 1, b holds 2: moving one would leave b with 1 and a with 2, and b could take it back.
    expect(pickReclaim([h('a1', 'a', 1, false), h('b1', 'b', 0), h('b2', 'b', 0)], 'a')).toBeUndefined();
    expect(pickReclaim([h('b1', 'b', 0), h('b2', 'b', 0)], 'a')?.holder).toBe('b');
    expect(pickReclaim([h('b1', 'b', 0)], 'a')).toBeUndefined();
  });

  it("prefers the requester's own on a tie with another holder", () => {
    const holdings = [h('a1', 'a', 50), h('a2', 'a', 60), h('b1', 'b', 1), h('b2', 'b', 2)];
    expect(pickReclaim(holdings, 'a')?.name).toBe('a1');
  });

  it("takes from a heavier holder before the requester's own", () => {
    const holdings = [h('a1', 'a', 1), h('b1', 'b', 5), h('b2', 'b', 6), h('b3', 'b', 7)];
    expect(pickReclaim(holdings, 'a')?.name).toBe('b1');
  });

  it('converges to an even split when every holding is idle', () => {
    // Four slots, all held by b; a, c and d each ask in turn until nothing more can move.
    let holdings = [h('b1', 'b', 1), h('b2', 'b', 2), h('b3', 'b', 3), h('b4', 'b', 4)];
    let clock = 10;
    for (const requester of ['a', 'c', 'd', 'a', 'c']) {
      const victim = pickReclaim(holdings, requester);
      if (!victim) continue;
      holdings = [...holdings.filter((x) => x !== victim), h(`${requester}${clock}`, requester, clock++)];
    }
    const counts = holdings.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x.holder]: (acc[x.holder] ?? 0) + 1 }), {});
    expect(Object.values(counts).every((n) => n <= 2)).toBe(true);
    expect(holdings).toHaveLength(4);
  });
});
