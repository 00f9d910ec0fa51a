/**
 * The request as it will reach the upstream, built once: this object, not
 * the client's raw params, is what policy decides on, what the audit record
 * holds and what forward sends. Only gateway-owned parts are rewritten
 * (names, URIs, progress tokens, trace context); a shape the gateway could
 * not decide on is refused here with -32602, never passed through.
 */
import { GatewayError } from '../core/errors.js';
import type { CallContext, Target } from './context.js';

/** `_meta` keys of the protocol itself, and W3C trace context: forwarded to every upstream. */
const PROTOCOL_META = /^io\.modelcontextprotocol\//;
/**
 * The 2026-07-28 request envelope speaks for whoever sends the request: the
 * client's reaches the gateway, the gateway's own goes upstream (a client's
 * capabilities must not make an upstream answer the gateway in ways it did
 * not declare, such as a task).
 */
const ENVELOPE_META = new Set([
  'io.modelcontextprotocol/protocolVersion',
  'io.modelcontextprotocol/clientInfo',
  'io.modelcontextprotocol/clientCapabilities',
  'io.modelcontextprotocol/logLevel',
]);
const TRACE_META = new Set(['traceparent', 'tracestate']);

/** The params to send upstream; throws INVALID_PARAMS for shapes the gateway cannot decide on. */
export function upstreamParams(ctx: Pick<CallContext, 'method' | 'params' | 'trace'>, target: Target, forwardMeta: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = { ...ctx.params };
  // The 2025-11-25 experimental task augmentation is not routed (the gateway does not advertise it): such a call runs
  // as a plain one, so its answer is a result the client can use. The 2026-07-28 tasks extension is (session/tasks.ts).
  delete params.task;
  switch (ctx.method) {
    case 'tools/call':
    case 'prompts/get':
      params.name = target.original;
      if (params.arguments !== undefined) params.arguments = plainObject(params.arguments, 'arguments');
      break;
    case 'completion/complete':
      params.ref = { ...(params.ref as Record<string, unknown>), [target.kind === 'prompt' ? 'name' : 'uri']: target.original };
      break;
    default:
      params.uri = target.original;
  }
  const meta = forwardedMeta(params._meta, forwardMeta);
  // Traced: the gateway's span is the upstream's parent, not the caller's.
  if (ctx.trace) meta.traceparent = ctx.trace.traceparent;
  if (Object.keys(meta).length > 0) params._meta = meta;
  else delete params._meta;
  return params;
}

/**
 * The client's `_meta` without what an upstream must not take from a client:
 * the progress token (the SDK sends its own; ours maps back in forward) and
 * any key that is neither the protocol's own, trace context, nor allowed by
 * the server's `forwardMeta` (an upstream may read identity or tenant hints
 * from `_meta`).
 */
function forwardedMeta(meta: unknown, allowed: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return out;
  for (const [key, value] of Object.entries(meta)) {
    if (key === 'progressToken' || ENVELOPE_META.has(key)) continue;
    if (PROTOCOL_META.test(key) || TRACE_META.has(key) || allowedKey(key, allowed)) out[key] = value;
  }
  return out;
}

function allowedKey(key: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => (a.endsWith('/*') ? key.startsWith(a.slice(0, -1)) : a === key));
}

/** A JSON object (not an array, string or null), or INVALID_PARAMS naming the field. */
export function plainObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  throw new GatewayError('INVALID_PARAMS', `params.${field} must be an object, not ${got}`, { field });
}

/** A string, or INVALID_PARAMS naming the field. */
export function stringParam(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  throw new GatewayError('INVALID_PARAMS', `params.${field} must be a string`, { field });
}
