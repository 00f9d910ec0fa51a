/**
 * `switchboard audit verify FILE… [--public-key PEM] [--json]`: whether
 * audit files are intact (exit 0) or where their chain breaks (exit 1); a
 * file or key that cannot be read is exit 2.
 * `switchboard audit replay …` re-decides recorded requests (audit-replay.ts).
 */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { publicKeyFromPem } from '../../observability/audit/signing.js';
import { verifyAudit, type VerifyReport } from '../../observability/audit/verify.js';
import { UsageError, type ParsedArgs } from '../args.js';
import { auditReplay } from './audit-replay.js';

export async function auditCommand(args: ParsedArgs): Promise<number> {
  const [sub, ...files] = args.positionals;
  if (sub === 'replay') return auditReplay(args);
  if (sub !== 'verify') throw new UsageError(`expected 'verify' or 'replay'`, 'audit');
  if (files.length === 0) return usage('audit verify needs at least one FILE (oldest first: audit.log.* audit.log)');
  // What cannot be read is a usage problem (exit 2), never "not intact" (exit 1): scripts tell them apart.
  let key: KeyObject | undefined;
  let inputs: { file: string; text: string }[];
  try {
    key = typeof args.flags['public-key'] === 'string' ? publicKeyFromPem(readInput(args.flags['public-key'])) : undefined;
    inputs = files.map((file) => ({ file, text: readInput(file).toString('utf8') }));
  } catch (err) {
    return usage((err as Error).message);
  }
  const report = verifyAudit(inputs, key);
  if (args.flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(render(report));
  return report.ok ? 0 : 1;
}

function render(report: VerifyReport): string {
  const out: string[] = [];
  for (const w of report.writers) {
    const span = `seq ${w.firstSeq}–${w.lastSeq}${w.fromStart ? '' : ' (begins mid-chain: earlier files not given)'}`;
    const end = w.checkpoints === 0 ? 'no checkpoints' : w.closed ? `${w.checkpoints} checkpoints, closed` : `${w.checkpoints} checkpoints, not closed`;
    out.push(`${w.writer}: ${w.lines} lines, ${span}, ${end}`);
  }
  for (const p of report.problems) out.push(`BROKEN ${p.file}:${p.line}${p.seq !== undefined ? ` (seq ${p.seq})` : ''}: ${p.kind}: ${p.message}`);
  if (!report.signaturesChecked && report.writers.some((w) => w.checkpoints > 0)) out.push('checkpoint signatures not checked: pass --public-key FILE');
  out.push(report.ok ? `intact: ${report.lines} lines` : `not intact: ${report.problems.length} problem(s) in ${report.lines} lines`);
  return `${out.join('\n')}\n`;
}

function readInput(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function usage(message: string): number {
  throw new UsageError(message, 'audit verify');
}
