/**
 * `switchboard scan [--config F] [--profile P] [--json]`: the poisoning lint
 * over every description and schema text the servers serve now. Exits 1 if a
 * finding reaches `gateway.scan.severity` (default high), so CI can gate on it.
 */
import { scanContracts, type Finding } from '../../contracts/scan/index.js';
import type { ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';
import { readLiveContracts } from '../live-contracts.js';
import { profileView } from '../profile-view.js';
import { table } from '../table.js';
import { SETTLE_MS } from './serve.js';

const RANK = { low: 0, medium: 1, high: 2 } as const;

export async function scanCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfigFromFlag(args.flags.config);
  const live = await readLiveContracts(config, args, profileView(config, args), SETTLE_MS);
  for (const u of live.unread) process.stderr.write(`switchboard: ${u.server}: ${u.reason}; not scanned\n`);
  const findings = scanContracts(live.contracts.map((c) => c.contract));
  const threshold = RANK[config.gateway.scan.severity];
  const failing = findings.filter((f) => RANK[f.severity] >= threshold);
  if (args.flags.json) {
    process.stdout.write(`${JSON.stringify({ scanned: live.contracts.length, servers: live.read, findings }, null, 2)}\n`);
  } else {
    process.stdout.write(render(findings));
    process.stdout.write(`${findings.length} findings in ${live.contracts.length} entries (${failing.length} at or above ${config.gateway.scan.severity})\n`);
  }
  return failing.length > 0 ? 1 : 0;
}

function render(findings: Finding[]): string {
  if (findings.length === 0) return '';
  const rows = findings.map((f) => [f.severity, f.detector, f.server, f.kind, f.name, f.field, f.span.text]);
  const fixes = [...new Set(findings.map((f) => `  ${f.detector}: ${f.fix}`))].join('\n');
  return `${table(['SEVERITY', 'DETECTOR', 'SERVER', 'KIND', 'NAME', 'FIELD', 'TEXT'], rows)}\nfixes:\n${fixes}\n\n`;
}
