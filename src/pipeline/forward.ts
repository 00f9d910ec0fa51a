/**
 * The terminal stage: sends the request exactly as resolve-route built it
 * (`ctx.forwarded`, what policy decided on), and relays progress back under the
 * client's own token. Cancellation flows through the signal: the SDK sends
 * `notifications/cancelled` upstream when the downstream request is aborted.
 */
import type { Result } from '@modelcontextprotocol/client';
import { exposeUri } from '../catalog/names.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { Terminal } from './chain.js';
import type { CallContext } from './context.js';

export function forward(pool: ConnectionPool): Terminal {
  return {
    name: 'forward',
    async run(ctx) {
      const target = ctx.target!;
      // The spec's answer for a server without completions: no suggestions.
      if (ctx.method === 'completion/complete' && !target.upstream.capabilities.completions) {
        return { completion: { values: [], hasMore: false } };
      }
      const connection = await pool.acquire(target.upstream, ctx.session, ctx.principal.id);
      ctx.connection = connection;
      const result = await timed(ctx, () =>
        connection.request(ctx.method, ctx.forwarded!, {
          signal: ctx.signal,
          origin: ctx.origin,
          logLevel: ctx.logLevel,
          caller: { id: ctx.principal.id, groups: ctx.principal.groups, scopes: ctx.principal.scopes, traceparent: ctx.trace?.traceparent },
          onprogress: ctx.progressToken === undefined ? undefined : (p) => void relayProgress(ctx, p),
          acceptsTask: ctx.acceptsTask,
        }),
      );
      return exposeResultUris(ctx.method, result, target.upstream.config.prefix);
    },
  };
}

/** Runs the upstream part and notes how long it took, success or not. */
async function timed<T>(ctx: CallContext, upstreamPart: () => Promise<T>): Promise<T> {
  const sent = performance.now();
  try {
    return await upstreamPart();
  } finally {
    ctx.upstreamMs = performance.now() - sent;
  }
}

/**
 * URIs in a result name what a client can read again through the gateway:
 * the exposed form. That holds for read contents, and for resource links and
 * embedded resources in tool results and prompt messages (an unprefixed
 * one would be routed to another server, or to none).
 */
export function exposeResultUris(method: string, result: Result, prefix: string): Result {
  if (prefix === '') return result;
  const expose = (item: unknown) => exposeItemUri(item, prefix);
  const r = result as { contents?: unknown; content?: unknown; messages?: unknown };
  if (method === 'resources/read' && Array.isArray(r.contents)) return { ...result, contents: r.contents.map(expose) };
  if (method === 'tools/call' && Array.isArray(r.content)) return { ...result, content: r.content.map(expose) };
  if (method === 'prompts/get' && Array.isArray(r.messages)) {
    return {
      ...result,
      messages: r.messages.map((m: Record<string, unknown>) => (isObject(m) && isObject(m.content) ? { ...m, content: expose(m.content) } : m)),
    };
  }
  return result;
}

/** One content item: a resource link's or an embedded resource's `uri`, or a read content's own. */
function exposeItemUri(item: unknown, prefix: string): unknown {
  if (!isObject(item)) return item;
  if (item.type === 'resource' && isObject(item.resource) && typeof item.resource.uri === 'string') {
    return { ...item, resource: { ...item.resource, uri: exposeUri(prefix, item.resource.uri) } };
  }
  if ((item.type === 'resource_link' || item.type === undefined) && typeof item.uri === 'string') return { ...item, uri: exposeUri(prefix, item.uri) };
  return item;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function relayProgress(ctx: CallContext, progress: { progress: number; total?: number; message?: string }): Promise<void> {
  return ctx.origin.notify({ method: 'notifications/progress', params: { ...progress, progressToken: ctx.progressToken! } }).catch(() => {});
}

export type { Result };
