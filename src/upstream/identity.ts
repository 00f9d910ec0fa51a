/**
 * Identity propagation without passthrough: for upstreams that want to know
 * who is calling, configured headers carry the caller's id (or groups, or
 * scopes) — never the credential the caller presented. The caller of the
 * request in flight is known through async context, so even a connection
 * shared by many sessions sends each request with its own caller.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Caller {
  id: string;
  groups: string[];
  scopes: string[];
  /** The gateway's span for this call (W3C), sent as the `traceparent` header when tracing is on. */
  traceparent?: string;
}

/**
 * A context key, not a cache: it holds nothing outside an `asCaller` run, and
 * each run sees only its own caller, so gateways in one process may share it.
 */
const current = new AsyncLocalStorage<Caller>();

/** Runs `fn` with `caller` as the identity its upstream requests carry. */
export function asCaller<T>(caller: Caller | undefined, fn: () => Promise<T>): Promise<T> {
  return caller ? current.run(caller, fn) : fn();
}

/**
 * The headers naming the caller of the request in flight (and its trace
 * context), or undefined outside a call or when there are none.
 */
export function callerHeaders(headers: Record<string, 'id' | 'groups' | 'scopes'>): Record<string, string> | undefined {
  const caller = current.getStore();
  if (!caller) return undefined;
  const entries = Object.entries(headers);
  if (entries.length === 0 && !caller.traceparent) return undefined;
  const out: Record<string, string> = {};
  if (caller.traceparent) out.traceparent = caller.traceparent;
  for (const [name, field] of entries) {
    const value = field === 'id' ? caller.id : caller[field].join(',');
    // A header value must not be able to start another header.
    out[name] = value.replace(/[\r\n]/g, ' ');
  }
  return out;
}

/** `base` with the identity headers (and trace context) of the call in flight added (none outside a call). */
export function identityFetch(headers: Record<string, 'id' | 'groups' | 'scopes'>, base: typeof fetch): typeof fetch {
  return (input, init) => {
    const extra = callerHeaders(headers);
    if (!extra) return base(input, init);
    const merged = new Headers(init?.headers);
    for (const [name, value] of Object.entries(extra)) merged.set(name, value);
    return base(input, { ...init, headers: merged });
  };
}
