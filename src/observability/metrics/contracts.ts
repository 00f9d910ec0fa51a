/** Tool contracts: drift from the lock, quarantined entries, lint findings and argument validation. */
import type { Instruments } from './instruments.js';
import type { LabelFolding } from './labels.js';
import type { Metrics, MetricsSources } from './types.js';

export function contractMetrics(
  make: Instruments,
  fold: LabelFolding,
  sources: MetricsSources,
): Pick<Metrics, 'contractDrift' | 'contractFinding' | 'argumentsInvalid'> {
  const drift = make.counter({
    name: 'switchboard_tool_drift_total',
    help: 'Tools, prompts and resource templates whose contract differs from the lock when first seen so, by server and kind of drift (new, changed, removed).',
    labelNames: ['server', 'kind'],
  });
  make.gauge(
    {
      name: 'switchboard_tools_quarantined',
      help: 'Tools, prompts and resource templates held back by the contract guard now, by server.',
      labelNames: ['server'],
    },
    (g) => {
      g.reset();
      for (const [server, n] of Object.entries(sources.quarantined?.() ?? {})) g.set({ server: fold.server(server) }, n);
    },
  );
  const findings = make.counter({
    name: 'switchboard_scan_findings_total',
    help: 'Poisoning-lint findings in contracts served by upstreams (each counted once), by server, detector and severity.',
    labelNames: ['server', 'detector', 'severity'],
  });
  const invalid = make.counter({
    name: 'switchboard_arguments_invalid_total',
    help: "Tool calls whose arguments did not match the tool's input schema, by server and outcome (refused in enforce, warned in warn).",
    labelNames: ['server', 'outcome'],
  });
  return {
    contractDrift(server, kind) {
      drift.inc({ server: fold.server(server), kind });
    },
    contractFinding(server, detector, severity) {
      findings.inc({ server: fold.server(server), detector, severity });
    },
    argumentsInvalid(server, outcome) {
      invalid.inc({ server: fold.server(server), outcome });
    },
  };
}
