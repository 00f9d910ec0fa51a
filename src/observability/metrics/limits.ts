/** Rate limits: requests refused, and the health of the shared (Redis) store behind them. */
import type { Instruments } from './instruments.js';
import type { LabelFolding } from './labels.js';
import type { Metrics, MetricsSources } from './types.js';

export function limitMetrics(make: Instruments, fold: LabelFolding, sources: MetricsSources): Pick<Metrics, 'rateLimited' | 'rateLimitStoreFailure'> {
  const limited = make.counter({
    name: 'switchboard_rate_limited_total',
    help: 'Requests refused by a rate limit.',
    labelNames: ['server'],
  });
  const storeFailures = make.counter({
    name: 'switchboard_rate_limit_store_failures_total',
    help: 'Rate-limit decisions the shared store (Redis) could not make, answered by its fail mode.',
    labelNames: ['fail_mode'],
  });
  const storeUp = sources.rateLimitStoreUp;
  // Registered only with a shared store: an unlabelled gauge would otherwise read 0 and look like an outage.
  if (storeUp) {
    make.gauge(
      {
        name: 'switchboard_rate_limit_store_up',
        help: '1 when the shared rate-limit store (Redis) is reachable, else 0; absent with the in-memory store.',
      },
      (gauge) => gauge.set(storeUp() ? 1 : 0),
    );
  }
  return {
    rateLimited(name) {
      limited.inc({ server: fold.server(name) });
    },
    rateLimitStoreFailure(failMode) {
      storeFailures.inc({ fail_mode: failMode });
    },
  };
}
