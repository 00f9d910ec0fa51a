/**
 * audit.redact: dot paths, `*` for any key or array index, replaced by
 * "[redacted]" in recorded arguments; everything else untouched, the input
 * never changed, and a "__proto__" key only ever an own property.
 */
import { describe, expect, it } from 'vitest';
import { redact } from '../../../../src/observability/audit/redact.js';

const R = '[redacted]';

describe('redact', () => {
  it('replaces a top-level key', () => {
    expect(redact({ user: 'u', password: 'p' }, ['password'])).toEqual({ user: 'u', password: R });
  });

  it('follows nested paths', () => {
    expect(redact({ auth: { token: 't', kind: 'bearer' }, token: 'top' }, ['auth.token'])).toEqual({ auth: { token: R, kind: 'bearer' }, token: 'top' });
    expect(redact({ a: { b: { c: { d: 1, e: 2 } } } }, ['a.b.c.d'])).toEqual({ a: { b: { c: { d: R, e: 2 } } } });
    // A whole subtree.
    expect(redact({ auth: { token: 't', kind: 'bearer' } }, ['auth'])).toEqual({ auth: R });
  });

  it('"*" matches any key', () => {
    expect(redact({ headers: { a: '1', b: '2' }, keep: 1 }, ['headers.*'])).toEqual({ headers: { a: R, b: R }, keep: 1 });
    expect(redact({ x: { secret: 1, other: 2 }, y: { secret: 3 }, z: 'str' }, ['*.secret'])).toEqual({
      x: { secret: R, other: 2 },
      y: { secret: R },
      z: 'str',
    });
    expect(redact({ a: 1, b: [2] }, ['*'])).toEqual({ a: R, b: R });
  });

  it('"*" and numbers match array indexes', () => {
    const items = { items: [{ secret: 's0', id: 0 }, { secret: 's1', id: 1 }, 'plain', null] };
    expect(redact(items, ['items.*.secret'])).toEqual({ items: [{ secret: R, id: 0 }, { secret: R, id: 1 }, 'plain', null] });
    expect(redact(items, ['items.1'])).toEqual({ items: [{ secret: 's0', id: 0 }, R, 'plain', null] });
    expect(redact(items, ['items.0.secret'])).toEqual({ items: [{ secret: R, id: 0 }, { secret: 's1', id: 1 }, 'plain', null] });
    expect(redact(items, ['items.*'])).toEqual({ items: [R, R, R, R] });
    expect(redact([[1, 2], [3]], ['*.0'])).toEqual([[R, 2], [R]]);
    expect(redact({ m: [[{ k: 1 }], [{ k: 2 }, { j: 3 }]] }, ['m.*.*.k'])).toEqual({ m: [[{ k: R }], [{ k: R }, { j: 3 }]] });
  });

  it('applies every path', () => {
    expect(redact({ a: 1, b: { c: 2, d: 3 }, e: [{ f: 4 }] }, ['a', 'b.d', 'e.*.f'])).toEqual({ a: R, b: { c: 2, d: R }, e: [{ f: R }] });
  });

  it('leaves values the paths do not reach untouched', () => {
    const value = { a: { b: 'x' }, list: [1, 2], n: 5, s: 'str', nil: null };
    for (const p of ['nope', 'a.nope', 'a.b.c', 'n.x', 's.length', 'nil.x', 'list.2', 'list.-1', 'list.x', 'list.01', 'a.b.*']) {
      expect(redact(value, [p]), p).toEqual(value);
    }
    for (const primitive of ['s', 1, null, true, undefined]) expect(redact(primitive, ['*'])).toBe(primitive);
    expect(redact({ a: 1 }, [])).toEqual({ a: 1 });
  });

  it('never changes its input', () => {
    const input = { password: 'p', nested: { token: 't' }, items: [{ secret: 's' }] };
    const copy = structuredClone(input);
    redact(input, ['password', 'nested.token', 'items.*.secret']);
    expect(input).toEqual(copy);
  });

  it('treats a "__proto__" key as an own property: redacted when named, never a prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "yes", "keep": 1}, "a": 1}') as Record<string, unknown>;
    const whole = redact(input, ['__proto__']) as Record<string, unknown>;
    expect(Object.getPrototypeOf(whole)).toBe(Object.prototype);
    expect(Object.hasOwn(whole, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(whole, '__proto__')!.value).toBe(R);
    expect(JSON.stringify(whole)).toBe('{"__proto__":"[redacted]","a":1}');

    const inner = redact(input, ['__proto__.polluted']) as Record<string, unknown>;
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect((inner as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.stringify(inner)).toBe('{"__proto__":{"polluted":"[redacted]","keep":1},"a":1}');

    // Not named: carried over as an own property too, not turned into the prototype.
    const other = redact(input, ['a']) as Record<string, unknown>;
    expect(Object.getPrototypeOf(other)).toBe(Object.prototype);
    expect((other as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.stringify(other)).toBe('{"__proto__":{"polluted":"yes","keep":1},"a":"[redacted]"}');

    // "*" over such an object, and nothing leaks onto Object.prototype.
    expect(JSON.stringify(redact(input, ['*.keep']))).toBe('{"__proto__":{"polluted":"yes","keep":"[redacted]"},"a":1}');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('only follows own properties ("constructor", "toString" are keys like any other)', () => {
    expect(redact({ a: 1 }, ['constructor.prototype'])).toEqual({ a: 1 });
    expect(redact({ constructor: 'c', toString: 't' }, ['constructor', 'toString'])).toEqual({ constructor: R, toString: R });
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });
});
