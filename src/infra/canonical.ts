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
