/**
 * The terminal stage: sends the request to its upstream with the original
 * name or URI, everything else untouched, and relays progress back under the
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
        connection.request(ctx.method, upstreamParams(ctx), {
          signal: ctx.signal,
          origin: ctx.origin,
          logLevel: ctx.logLevel,
          caller: { id: ctx.principal.id, groups: ctx.principal.groups, scopes: ctx.principal.scopes, traceparent: ctx.trace?.traceparent },
          onprogress: ctx.progressToken === undefined ? undefined : (p) => void relayProgress(ctx, p),
        }),
      );
      return ctx.method === 'resources/read' ? exposeContentUris(result, target.upstream.config.prefix) : result;
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

/** The client's params with only the gateway-owned parts rewritten. */
function upstreamParams(ctx: CallContext): Record<string, unknown> {
  const { original } = ctx.target!;
  const params: Record<string, unknown> = { ...ctx.params };
  switch (ctx.method) {
    case 'tools/call':
    case 'prompts/get':
      params.name = original;
      break;
    case 'completion/complete': {
      const ref = { ...(params.ref as Record<string, unknown>) };
      if (ref.type === 'ref/prompt') ref.name = original;
      else ref.uri = original;
      params.ref = ref;
      break;
    }
    default:
      params.uri = original;
  }
  // The upstream gets the SDK's own progress token; ours maps back in relayProgress.
  const meta = params._meta as Record<string, unknown> | undefined;
  if (meta && 'progressToken' in meta) {
    const { progressToken: _dropped, ...rest } = meta;
    if (Object.keys(rest).length > 0) params._meta = rest;
    else delete params._meta;
  }
  // Traced: the gateway's span is the upstream's parent, not the caller's.
  if (ctx.trace) params._meta = { ...(params._meta as Record<string, unknown> | undefined), traceparent: ctx.trace.traceparent };
  return params;
}

/** Read contents name the URI a client can read again: the exposed one. */
function exposeContentUris(result: Result, prefix: string): Result {
  const contents = (result as { contents?: unknown }).contents;
  if (prefix === '' || !Array.isArray(contents)) return result;
  return {
    ...result,
    contents: contents.map((c: Record<string, unknown>) => (typeof c.uri === 'string' ? { ...c, uri: exposeUri(prefix, c.uri) } : c)),
  };
}

function relayProgress(ctx: CallContext, progress: { progress: number; total?: number; message?: string }): Promise<void> {
  return ctx.origin
    .notify({ method: 'notifications/progress', params: { ...progress, progressToken: ctx.progressToken! } })
    .catch(() => {});
}

export type { Result };
