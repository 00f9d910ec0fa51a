/**
 * The pipeline runner: stages run in order and stop the request by throwing
 * a GatewayError; the terminal stage produces the result; `finish` runs in
 * `finally`, for success and failure alike. Linear, not onion-shaped, so no
 * stage can call the next one twice.
 */
import { randomUUID } from 'node:crypto';
import type { Result } from '@modelcontextprotocol/client';
import { withLogContext } from '../observability/log.js';
import type { CallContext } from './context.js';

export interface Stage {
  readonly name: string;
  run(ctx: CallContext): void | Promise<void>;
}

export interface Terminal {
  readonly name: string;
  run(ctx: CallContext): Promise<Result>;
}

export interface Finisher {
  readonly name: string;
  run(ctx: CallContext): void;
}

export type Pipeline = (ctx: CallContext) => Promise<Result>;

export interface PipelineParts {
  stages: Stage[];
  terminal: Terminal;
  finish: Finisher[];
  /**
   * Told of a finisher that threw. The request has been decided and, if it
   * was allowed, forwarded by then: its answer stands, every other finisher
   * still runs, and the failure is reported here (log and metrics) rather
   * than turned into the client's error.
   */
  onFinisherError?: (finisher: string, err: unknown, ctx: CallContext) => void;
}

export function createPipeline(parts: PipelineParts): Pipeline {
  return function runPipeline(ctx) {
    ctx.requestId ??= randomUUID();
    return withLogContext({ request: ctx.requestId, session: ctx.session.id }, () => run(ctx));
  };

  async function run(ctx: CallContext): Promise<Result> {
    try {
      for (const stage of parts.stages) {
        // Most stages decide synchronously; only a pending one is awaited (a microtask per stage per call adds up).
        const pending = stage.run(ctx);
        if (pending) await pending;
      }
      ctx.result = await parts.terminal.run(ctx);
      return ctx.result;
    } catch (err) {
      ctx.error = err;
      throw err;
    } finally {
      for (const finisher of parts.finish) runFinisher(finisher, ctx);
    }
  }

  function runFinisher(finisher: Finisher, ctx: CallContext): void {
    try {
      finisher.run(ctx);
    } catch (err) {
      parts.onFinisherError?.(finisher.name, err, ctx);
    }
  }
}
