/**
 * canonical: the JCS (RFC 8785) form every published hash is taken over, and
 * `fastCanonicalJson`, the audit chain's faster route to the same string. The
 * verifier recomputes audit hashes with `canonicalJson`, so any value on which
 * the two disagree makes an untouched audit line look edited.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalJson, canonicalValue, fastCanonicalJson, mergeSorted } from '../../../src/infra/canonical.js';

/** mulberry32: a small seeded PRNG, so a failure names a value that can be generated again. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Strings and keys that stress JCS: control characters, escapes, non-ASCII, astral
// characters (surrogate pairs, which sort BELOW U+E000–U+FFFF by code unit but
// above them by code point), lone surrogates, U+2028/9.
const ATOMS = [
  '',
  'a',
  'A',
  'b',
  'z',
  'Z',
  '_',
  '-',
  '$',
  ' ',
  'key',
  'Key',
  'key2',
  'é',
  'e\u0301',
  '€',
  '\u00ff',
  '\u0100',
  '\ud7ff',
  '\ue000',
  '\uff61',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{1f601}',
  '\u{10ffff}',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '\u0000',
  '\u0001',
  '\u0008',
  '\t',
  '\n',
  '\u000b',
  '\f',
  '\r',
  '\u001f',
  '\u007f',
  '\u0080',
  '\u2028',
  '\u2029',
  '"',
  '\\',
  '/',
  '</script>',
  'a.b',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'NaN',
  '-1',
  '1.5',
  '01',
  '1e3',
];

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  0.2,
  0.1 + 0.2,
  1e21,
  1e-7,
  1e-6,
  123456789012345680000,
  1e20,
  -1e21,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 53 + 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  5e-324,
  1.7976931348623157e308,
  333333333.3333333,
  4.5,
  0.002,
  1e-27,
  1e30,
  9007199254740992,
  295147905179352830000,
  -0.0000033,
];

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

function str(r: () => number, max = 4): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += pick(r, ATOMS);
  return s;
}

/** A JSON value (what JSON.parse can return, plus -0 and lone surrogates). */
function value(r: () => number, depth: number, keys: () => string): unknown {
  const roll = r();
  if (depth <= 0 || roll < 0.35) {
    const leaf = r();
    if (leaf < 0.15) return null;
    if (leaf < 0.25) return r() < 0.5;
    if (leaf < 0.55) return r() < 0.6 ? pick(r, NUMBERS) : (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
    return str(r);
  }
  if (roll < 0.6) return Array.from({ length: Math.floor(r() * 5) }, () => value(r, depth - 1, keys));
  const out: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) Object.defineProperty(out, keys(), { value: value(r, depth - 1, keys), enumerable: true, writable: true, configurable: true });
  return out;
}

describe('canonicalJson (the JCS library)', () => {
  it('produces the RFC 8785 §3.2.2 example', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units, not by code points', () => {
    // U+1F600 is the pair D83D DE00: below U+FFFF by code unit, above it by code point.
    const value = { '\uffff': 1, '\u{1f600}': 2, '\ue000': 3, z: 4 };
    expect(canonicalJson(value)).toBe('{"z":4,"\u{1f600}":2,"\ue000":3,"\uffff":1}');
    expect(fastCanonicalJson(value)).toBe(canonicalJson(value));
  });

  it('sorts array-index keys as strings ("10" before "9")', () => {
    expect(canonicalJson({ '9': 'nine', '10': 'ten', a: 'a', '!': 'bang' })).toBe('{"!":"bang","10":"ten","9":"nine","a":"a"}');
  });

  it('writes numbers as ECMAScript does: -0 as 0, 1e21 as 1e+21', () => {
    expect(canonicalJson([-0, 1e21, 1e-7, 0.1 + 0.2, 1e20])).toBe('[0,1e+21,1e-7,0.30000000000000004,100000000000000000000]');
  });

  it('escapes control characters and lone surrogates as JSON.stringify does', () => {
    expect(canonicalJson('\u0000\u001f\u007f\ud800\u2028')).toBe('"\\u0000\\u001f\u007f\\ud800\u2028"');
  });

  it("'' for undefined; NaN and Infinity are refused", () => {
    expect(canonicalJson(undefined)).toBe('');
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow();
  });
});

describe('canonicalHash', () => {
  it('is sha256:<hex> of the JCS form, blind to key order and whitespace', () => {
    const a = JSON.parse('{ "b": [1, {"y": 2, "x": 1}], "a": "é" }');
    const b = { a: 'é', b: [1, { x: 1, y: 2 }] };
    const expected = `sha256:${createHash('sha256').update('{"a":"é","b":[1,{"x":1,"y":2}]}').digest('hex')}`;
    expect(canonicalHash(a)).toBe(expected);
    expect(canonicalHash(b)).toBe(expected);
    expect(canonicalHash({ ...b, a: 'e' })).not.toBe(expected);
  });
});

describe('fastCanonicalJson === canonicalJson', () => {
  it('on hand-picked edge values', () => {
    const cases: unknown[] = [
      null,
      true,
      false,
      0,
      -0,
      1e21,
      -1e21,
      1e-7,
      0.1 + 0.2,
      Number.MAX_VALUE,
      5e-324,
      '',
      '\u0000\u0001\u001f\u007f"\\/',
      '\ud800',
      '\udfff',
      'a\udc00b\ud800',
      '\u{1f600}',
      '\u2028\u2029',
      [],
      {},
      [[[]]],
      [{}, { a: [] }],
      [undefined, 1],
      { a: undefined, b: 1 },
      { a: [undefined] },
      { '': 1, ' ': 2, a: { '': { '': null } } },
      { '\u{1f600}': 1, '\uffff': 2, '\ue000': 3, '\ud7ff': 4 },
      { '\ud800': 1, '\udc00': 2, '\u{10000}': 3 },
      { 'e\u0301': 1, é: 2 },
      { __proto__: null, a: 1 },
      JSON.parse('{"__proto__": {"x": 1}, "a": 2}'),
      JSON.parse('{"b": 1, "__proto__": {"y": 2, "x": 1}}'),
      { constructor: 1, toString: 2, hasOwnProperty: 3 },
      { '-1': 1, '1.5': 2, '01': 3, NaN: 4, '1e3': 5 },
    ];
    for (const value of cases) expect(fastCanonicalJson(value), JSON.stringify(value)).toBe(canonicalJson(value));
  });

  it('on 2000 generated JSON values (nested, unicode and astral keys, edge numbers, control characters, lone surrogates)', () => {
    const r = rng(0x5eed);
    const key = () => (r() < 0.7 ? pick(r, ATOMS) : str(r, 3));
    for (let i = 0; i < 2000; i++) {
      const v = value(r, 5, key);
      const fast = fastCanonicalJson(v);
      const jcs = canonicalJson(v);
      if (fast !== jcs) expect.fail(`value #${i}: ${JSON.stringify(v)}\nfast: ${fast}\njcs:  ${jcs}`);
      // Both parse back to the same value, and are their own canonical form.
      expect(canonicalJson(JSON.parse(jcs))).toBe(jcs);
    }
  });

  // JS objects list integer-like keys first, in numeric order: such values must take the library's path.
  it('on objects with array-index keys ("10" and "9"; "!" and "1")', () => {
    const cases: unknown[] = [
      { '10': 'ten', '9': 'nine' },
      { '!': 'bang', '1': 'one' },
      { ' ': 1, '0': 2 },
      { '100': 1, '11': 2, '2': 3 },
      { '5': 3, '4294967294': 2 },
      { args: { items: { '10': 'a', '9': 'b' } } },
    ];
    const mismatches = cases.filter((v) => fastCanonicalJson(v) !== canonicalJson(v)).map((v) => `${fastCanonicalJson(v)} != ${canonicalJson(v)}`);
    expect(mismatches).toEqual([]);
  });
});

describe('canonicalValue', () => {
  it('returns the value itself when every object in it is in code-unit key order', () => {
    const inOrder = { a: [1, { b: 2, c: [{ d: null }] }], e: 'x', '\u{1f600}': 1, '\uffff': 2 };
    expect(canonicalValue(inOrder)).toBe(inOrder);
    const list = [{ a: 1 }, 'x'];
    expect(canonicalValue(list)).toBe(list);
  });

  it('copies, sorted, what is not, leaving the input as it was', () => {
    const nested = { a: { z: 1, y: 2 }, b: [{ d: 1, c: 2 }] };
    const out = canonicalValue(nested) as typeof nested;
    expect(out).not.toBe(nested);
    expect(JSON.stringify(out)).toBe('{"a":{"y":2,"z":1},"b":[{"c":2,"d":1}]}');
    expect(Object.keys(nested.a)).toEqual(['z', 'y']);
    // A "__proto__" key stays an own key of the copy.
    const proto = canonicalValue(JSON.parse('{"b":1,"__proto__":{"x":1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(JSON.stringify(proto)).toBe('{"__proto__":{"x":1},"b":1}');
  });
});

describe('mergeSorted', () => {
  it('merges extra keys into a sorted record in code-unit order, extra winning', () => {
    const merged = mergeSorted({ a: 1, prev: 'mine', type: 'audit', z: 2 }, { writer: 'w', seq: 3, prev: null });
    expect(Object.keys(merged)).toEqual(['a', 'prev', 'seq', 'type', 'writer', 'z']);
    expect(merged).toEqual({ a: 1, prev: null, seq: 3, type: 'audit', writer: 'w', z: 2 });
    expect(fastCanonicalJson(merged)).toBe(canonicalJson(merged));
  });
});
