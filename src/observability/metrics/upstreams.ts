/** Upstream servers: readiness, restarts, connections, child processes, stderr, and what each adds to the catalog. */
import type { Counter, Instruments } from './instruments.js';
import type { LabelFolding } from './labels.js';
import type { Metrics, MetricsSources } from './types.js';

export function upstreamMetrics(make: Instruments, fold: LabelFolding, sources: MetricsSources): Pick<Metrics, 'processReclaimed' | 'stderrTruncated'> {
  const reclaimed = make.counter({
    name: 'switchboard_upstream_processes_reclaimed_total',
    help: 'Idle sessions\' child processes (isolation "session") stopped at maxProcesses so another session could have one.',
    labelNames: ['server'],
  });
  const stderrTruncated = make.counter({
    name: 'switchboard_upstream_stderr_truncated_total',
    help: 'Upstream stderr lines cut at their bounded length (a child writing without line ends).',
    labelNames: ['server'],
  });
  // Registered before the readiness gauge that moves it, so a scrape renders it first and a restart
  // shows at the next scrape, as it always has: the order is behaviour here.
  const restarts = make.counter({
    name: 'switchboard_upstream_restarts_total',
    help: 'Times an upstream connection was lost after it had been ready.',
    labelNames: ['server'],
  });
  readinessGauge(make, fold, sources, restarts);
  connectionsGauge(make, fold, sources);
  catalogItemsGauge(make, fold, sources);
  return {
    processReclaimed(name) {
      reclaimed.inc({ server: fold.server(name) });
    },
    stderrTruncated(name) {
      stderrTruncated.inc({ server: fold.server(name) });
    },
  };
}

/** Readiness per upstream; restarts are counted here too, at scrape time, from each upstream's own count. */
function readinessGauge(make: Instruments, fold: LabelFolding, sources: MetricsSources, restarts: Counter<'server'>): void {
  const seenRestarts = new Map<string, number>();
  make.gauge(
    {
      name: 'switchboard_upstream_up',
      help: '1 when the upstream is ready, else 0.',
      labelNames: ['server'],
    },
    (gauge) => {
      for (const u of sources.upstreams()) {
        gauge.set({ server: fold.server(u.name) }, u.state === 'ready' ? 1 : 0);
        const before = seenRestarts.get(u.name) ?? 0;
        if (u.restarts > before) restarts.inc({ server: fold.server(u.name) }, u.restarts - before);
        seenRestarts.set(u.name, u.restarts);
      }
    },
  );
}

function connectionsGauge(make: Instruments, fold: LabelFolding, sources: MetricsSources): void {
  make.gauge(
    {
      name: 'switchboard_upstream_connections',
      help: "Open upstream connections (the shared one plus sessions' own).",
      labelNames: ['server'],
    },
    (gauge) => {
      gauge.reset();
      for (const [name, count] of Object.entries(sources.connections())) gauge.set({ server: fold.server(name) }, count);
    },
  );
}

function catalogItemsGauge(make: Instruments, fold: LabelFolding, sources: MetricsSources): void {
  make.gauge(
    {
      name: 'switchboard_catalog_items',
      help: 'Items each server contributes to the merged catalog.',
      labelNames: ['kind', 'server'],
    },
    (gauge) => {
      gauge.reset();
      for (const [name, kinds] of Object.entries(sources.catalogCounts())) {
        for (const [kind, count] of Object.entries(kinds)) gauge.set({ kind, server: fold.server(name) }, count);
      }
    },
  );
}
