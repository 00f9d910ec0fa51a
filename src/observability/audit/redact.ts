/**
 * `audit.redact`: argument paths that never reach the audit trail even with
 * `audit.includeArgs` ("password", "auth.token", "items.*.secret": dot
 * segments, `*` for any key or index). The digest is taken before, over the
 * arguments as forwarded.
 */
export function redact(value: unknown, paths: readonly string[]): unknown {
  let out = value;
  for (const p of paths) out = without(out, p.split('.'));
  return out;
}

const REDACTED = '[redacted]';

function without(value: unknown, segs: readonly string[]): unknown {
  if (segs.length === 0 || typeof value !== 'object' || value === null) return value;
  const [head, ...rest] = segs as [string, ...string[]];
  if (Array.isArray(value)) {
    return value.map((item, i) => (head === '*' || head === String(i) ? (rest.length === 0 ? REDACTED : without(item, rest)) : item));
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const hit = head === '*' || head === key;
    const next = hit ? (rest.length === 0 ? REDACTED : without(v, rest)) : v;
    Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
