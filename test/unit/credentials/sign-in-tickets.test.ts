import { describe, expect, it } from 'vitest';
import { PerPrincipalStore } from '../../../src/credentials/sign-in-tickets.js';

interface Entry {
  principal: string;
  n: number;
}

describe('PerPrincipalStore', () => {
  it("keeps at most perPrincipal entries per principal, dropping that principal's oldest", () => {
    const store = new PerPrincipalStore<Entry>({ max: 100, perPrincipal: 3, ttlMs: 60_000 });
    for (let n = 0; n < 5; n++) store.set(`a${n}`, { principal: 'a', n });
    expect(store.countFor('a')).toBe(3);
    expect(store.peek('a0')).toBeUndefined();
    expect(store.peek('a1')).toBeUndefined();
    expect([2, 3, 4].map((n) => store.peek(`a${n}`)?.n)).toEqual([2, 3, 4]);
  });

  it("never lets one principal evict another's entries, even with a small global bound", () => {
    const store = new PerPrincipalStore<Entry>({ max: 10, perPrincipal: 5, ttlMs: 60_000 });
    store.set('b', { principal: 'b', n: 0 });
    for (let n = 0; n < 50; n++) store.set(`a${n}`, { principal: 'a', n });
    expect(store.peek('b')).toEqual({ principal: 'b', n: 0 });
    expect(store.countFor('a')).toBe(5);
    expect(store.peek('a44')).toBeUndefined();
    expect(store.peek('a45')?.n).toBe(45);
  });

  it('hands each entry out once, and frees its place under the cap', () => {
    const store = new PerPrincipalStore<Entry>({ max: 100, perPrincipal: 2, ttlMs: 60_000 });
    store.set('x', { principal: 'a', n: 1 });
    store.set('y', { principal: 'a', n: 2 });
    expect(store.take('x')?.n).toBe(1);
    expect(store.take('x')).toBeUndefined();
    expect(store.countFor('a')).toBe(1);
    store.set('z', { principal: 'a', n: 3 });
    expect(store.peek('y')?.n).toBe(2);
    expect(store.countFor('a')).toBe(2);
  });

  it('forgets a principal once the global bound evicts all of their entries (the index never outgrows the cache)', () => {
    const store = new PerPrincipalStore<Entry>({ max: 3, perPrincipal: 3, ttlMs: 60_000 });
    store.set('old', { principal: 'gone', n: 0 });
    for (let n = 0; n < 3; n++) store.set(`p${n}`, { principal: `p${n}`, n });
    expect(store.peek('old')).toBeUndefined();
    expect(store.countFor('gone')).toBe(0);
  });

  it('lets entries expire', () => {
    let now = 1_000;
    const store = new PerPrincipalStore<Entry>({ max: 10, perPrincipal: 2, ttlMs: 100, now: () => now });
    store.set('x', { principal: 'a', n: 1 });
    now += 99;
    expect(store.peek('x')?.n).toBe(1);
    now += 2;
    expect(store.peek('x')).toBeUndefined();
    expect(store.take('x')).toBeUndefined();
    expect(store.countFor('a')).toBe(0);
  });
});
