/**
 * The shipped dashboard and alerts parse, and name only metrics the gateway
 * exports (so a rename cannot silently blank a panel or an alert).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const source = readFileSync(path.join(root, 'src/observability/metrics.ts'), 'utf8');
const exported = new Set([...source.matchAll(/name: '(switchboard_[a-z_]+)'/g)].map((m) => m[1]!));
const PROCESS = /^process_/;

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:switchboard|process)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
}

describe('deploy/', () => {
  it('exports the metrics the dashboard and alerts use', () => {
    expect(exported.size).toBeGreaterThanOrEqual(10);
  });

  it('alerts.yaml parses and names only exported metrics', () => {
    const doc = YAML.parse(readFileSync(path.join(root, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['SwitchboardUpstreamDown', 'SwitchboardErrorRatioHigh', 'SwitchboardLatencyHigh']));
    for (const rule of rules) for (const name of metricNames(rule.expr)) expect(exported.has(name) || PROCESS.test(name), `${rule.alert}: ${name}`).toBe(true);
  });

  it('the Grafana dashboard parses and names only exported metrics', () => {
    const dash = JSON.parse(readFileSync(path.join(root, 'deploy/grafana/switchboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    expect(dash.panels.length).toBeGreaterThan(5);
    for (const panel of dash.panels) {
      for (const target of panel.targets) for (const name of metricNames(target.expr)) expect(exported.has(name) || PROCESS.test(name), `${panel.title}: ${name}`).toBe(true);
    }
  });
});
