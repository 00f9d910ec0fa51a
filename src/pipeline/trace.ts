/**
 * Tracing, when it is on: the first stage opens this request's span (a child
 * of the caller's trace context, if any) and the finisher closes it with the
 * outcome. `forward` hands the span to the upstream as its parent.
 */
import { GatewayError } from '../core/errors.js';
import type { Tracer } from '../observability/trace.js';
import type { Finisher, Stage } from './chain.js';

export function startTrace(tracer: Promise<Tracer | undefined>): Stage {
  return {
    name: 'trace',
    async run(ctx) {
      const t = await tracer;
      if (!t) return;
      const name = typeof ctx.params.name === 'string' ? ctx.params.name : typeof ctx.params.uri === 'string' ? ctx.params.uri : '';
      ctx.trace = t.start(name ? `${ctx.method} ${name}` : ctx.method, ctx.traceparent, {
        'mcp.method': ctx.method,
        'mcp.session': ctx.session.id,
        ...(ctx.requestId ? { 'switchboard.request_id': ctx.requestId } : {}),
      });
    },
  };
}

export function endTrace(): Finisher {
  return {
    name: 'end-trace',
    run(ctx) {
      const code = ctx.error instanceof GatewayError ? ctx.error.code : ctx.error === undefined ? undefined : 'UPSTREAM_ERROR';
      ctx.trace?.end({ ok: ctx.error === undefined, code, server: ctx.target?.upstream.name });
    },
  };
}
