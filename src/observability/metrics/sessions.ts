/** Downstream sessions (open, refused and evicted under gateway.limits) and the client streams they hold. */
import { startAtZero, type Instruments } from './instruments.js';
import type { Metrics, MetricsSources } from './types.js';

const CAPS = ['principal', 'gateway'];

export function sessionMetrics(
  make: Instruments,
  sources: MetricsSources,
): Pick<Metrics, 'sessionRefused' | 'sessionEvicted' | 'streamDropped' | 'streamClosedSlow'> {
  const refused = make.counter({
    name: 'switchboard_sessions_refused_total',
    help: 'New 2025-era sessions refused (TOO_MANY_SESSIONS), by the cap reached: "principal" (429) or "gateway" (503).',
    labelNames: ['reason'],
  });
  const evicted = make.counter({
    name: 'switchboard_sessions_evicted_total',
    help: 'Idle sessions closed to admit a new one, by the cap reached: "principal" (its own oldest) or "gateway" (the heaviest holder\'s).',
    labelNames: ['reason'],
  });
  startAtZero(refused, 'reason', CAPS);
  startAtZero(evicted, 'reason', CAPS);
  const dropped = make.counter({
    name: 'switchboard_stream_dropped_messages_total',
    help: 'Messages not sent to a client that stopped reading its stream: log messages dropped, progress updates replaced by a later one (kind).',
    labelNames: ['kind'],
  });
  startAtZero(dropped, 'kind', ['log', 'progress']);
  const closedSlow = make.counter({
    name: 'switchboard_stream_closed_slow_total',
    help: 'Client streams closed because the client stopped reading and the bytes queued for it passed the bound.',
  });
  openSessionsGauge(make, sources);
  return {
    sessionRefused(reason) {
      refused.inc({ reason });
    },
    sessionEvicted(reason) {
      evicted.inc({ reason });
    },
    streamDropped(kind) {
      dropped.inc({ kind });
    },
    streamClosedSlow() {
      closedSlow.inc();
    },
  };
}

/** Sessions are counted by their owner under "<transport>/<era>" keys; read at scrape time. */
function openSessionsGauge(make: Instruments, sources: MetricsSources): void {
  make.gauge(
    {
      name: 'switchboard_sessions',
      help: 'Open downstream sessions, by transport and protocol era.',
      labelNames: ['transport', 'era'],
    },
    (gauge) => {
      gauge.reset();
      for (const [key, count] of Object.entries(sources.sessions())) {
        const [transport = 'other', era = 'other'] = key.split('/');
        gauge.set({ transport, era }, count);
      }
    },
  );
}
