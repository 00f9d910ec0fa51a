/**
 * Records the outcome of every forwarded request. Runs in `finally`. Never
 * logs arguments or results: they may hold secrets.
 */
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Finisher } from './chain.js';

export function record(log: Logger): Finisher {
  return {
    name: 'record',
    run(ctx) {
      if (log.level !== 'debug') return;
      const error = ctx.error;
      log.debug('request', {
        session: ctx.session.id,
        method: ctx.method,
        server: ctx.target?.upstream.name,
        name: ctx.target?.exposed,
        outcome: error === undefined ? 'ok' : error instanceof GatewayError ? error.code : 'error',
        ms: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
      });
    },
  };
}
