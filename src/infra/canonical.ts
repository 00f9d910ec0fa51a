/**
 * Canonical JSON (JCS, RFC 8785) and SHA-256 over it: one form for every hash
 * the gateway publishes (tool contracts, audit records), so key order and
 * whitespace never change a hash and any other change does.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';

// The package is CommonJS whose module.exports is the function, while its typings
// declare an ES default export: under NodeNext the default import is that function.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** The JCS form of `value` ('' for undefined, which JSON cannot say). */
export function canonicalJson(value: unknown): string {
  return canonicalize(value) ?? '';
}

/** `sha256:<hex>` of the JCS form of `value`. */
export function canonicalHash(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}

/**
 * The JCS form of a JSON value, fast. JCS is ES JSON.stringify with object
 * keys in code-unit order, so a value whose objects already have their keys
 * in that order (the audit record is built so) is stringified as it is; any
 * other value goes through the library. (A JS object cannot hold keys such as
 * "10" and "9" in code-unit order: integer-like keys always come first, in
 * numeric order. Such objects always take the library's path.)
 */
export function fastCanonicalJson(value: unknown): string {
  return isCanonical(value, 0) ? (JSON.stringify(value) ?? '') : canonicalJson(value);
}

/** `record` with `extra`'s keys merged in code-unit order (both already sorted makes this one pass). */
export function mergeSorted(record: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(record);
  const more = Object.keys(extra).sort();
  const out: Record<string, unknown> = {};
  let j = 0;
  for (const key of keys) {
    while (j < more.length && more[j]! < key) assign(out, more[j]!, extra[more[j++]!]);
    if (!Object.hasOwn(extra, key)) assign(out, key, record[key]);
  }
  while (j < more.length) assign(out, more[j]!, extra[more[j++]!]);
  return out;
}

/**
 * A copy of `value` with object keys in code-unit order where a JS object can
 * hold them so (it cannot for integer-like keys; fastCanonicalJson then takes
 * the library's path). The value itself when nothing needed sorting.
 */
export function canonicalValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = canonicalValue(value[i]);
      if (item !== value[i]) (copy ??= value.slice())[i] = item;
    }
    return copy ?? value;
  }
  if (!isPlain(value)) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let inOrder = true;
  let changed = false;
  const forms: unknown[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) inOrder = false;
    forms[i] = canonicalValue(record[keys[i]!]);
    if (forms[i] !== record[keys[i]!]) changed = true;
  }
  if (inOrder && !changed) return value;
  const order = keys.map((key, i) => [key, forms[i]] as const);
  if (!inOrder) order.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const [key, form] of order) assign(out, key, form);
  return out;
}

const INDEX_KEY = /^(?:0|[1-9]\d*)$/;
const MAX_DEPTH = 64;

/**
 * Whether JSON.stringify of a record whose nested values are known to be
 * canonical is its JCS form: its own keys in code-unit order, none
 * integer-like (one pass over the top level only).
 */
export function topLevelInOrder(record: Record<string, unknown>): boolean {
  let previous: string | undefined;
  for (const key in record) {
    const first = key.charCodeAt(0);
    if (first >= 48 && first <= 57 && INDEX_KEY.test(key)) return false;
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
  }
  return true;
}

/** Whether JSON.stringify(value) is already its JCS form: plain data, every object's keys in code-unit order, no integer-like key. */
export function isCanonical(value: unknown, depth = 0): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return typeof value !== 'bigint';
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isCanonical(item, depth + 1)) return false;
    return true;
  }
  if (!isPlain(value)) return false;
  let previous: string | undefined;
  for (const key in value) {
    const first = key.charCodeAt(0);
    if (first >= 48 && first <= 57 && INDEX_KEY.test(key)) return false;
    if (previous !== undefined && !(previous < key)) return false;
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined && !isCanonical(item, depth + 1)) return false;
    previous = key;
  }
  return true;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Plain assignment keeps V8's fast objects; only "__proto__" must be defined as an own key. */
function assign(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
