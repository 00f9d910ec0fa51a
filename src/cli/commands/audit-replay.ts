/**
 * `switchboard audit replay --policies DIR [--config F] [--json] FILE…`:
 * every request the audit files record, decided again under the policy set
 * in DIR (with the configuration's servers, default effect and trusted
 * servers), and what would change: newly denied, newly allowed, and what
 * could not be decided again and why (policy/replay.ts). A report: exit 0
 * whatever it finds; 1 if the configuration, the policy set or a file cannot
 * be read; 2 without --policies or files.
 */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { knownNames } from '../../app/policy-runtime.js';
import type { LoadedConfig } from '../../config/schema/index.js';
import { ConfigError } from '../../core/errors.js';
import { loadPolicyDir } from '../../policy/load.js';
import { replayServers } from '../../app/replay-servers.js';
import { AuditReplay, type ChangeReport, type ReplayExample, type ReplayReport } from '../../policy/replay.js';
import type { ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';
import { usageErrorText } from '../usage.js';

export async function auditReplay(args: ParsedArgs): Promise<number> {
  const files = args.positionals.slice(1);
  const dir = args.flags.policies;
  if (typeof dir !== 'string' || dir === '') return usage('audit replay needs --policies DIR (the candidate policy set)');
  if (files.length === 0) return usage('audit replay needs at least one FILE (audit JSON lines)');
  const config = loadConfigFromFlag(typeof args.flags.config === 'string' ? args.flags.config : undefined);
  const policies = await candidateDir(dir);
  // The candidate engine as createPolicyEngine (app/policy-runtime.ts) builds it, over DIR instead of gateway.policies.
  const candidate: LoadedConfig = { ...config, gateway: { ...config.gateway, policies } };
  const set = loadPolicyDir(policies, knownNames(candidate));
  if (set.files.length === 0) {
    throw new ConfigError([
      { file: policies, path: '', message: 'no policy files (*.yaml, *.yml) in the directory', fix: 'give the directory of the candidate policy files' },
    ]);
  }
  for (const w of set.warnings ?? []) process.stderr.write(`warning: ${w.file}${w.path ? ` ${w.path}` : ''}: ${w.message}\n`);
  const replay = new AuditReplay({
    set,
    defaultEffect: config.gateway.defaultEffect,
    trustedServers: config.servers.filter((s) => s.trustAnnotations).map((s) => s.name),
    servers: replayServers(config),
  });
  for (const file of files) await readLines(file, (n, line) => replay.line(file, n, line));
  const report = replay.report();
  const head = { policies, policyFiles: set.files, defaultEffect: config.gateway.defaultEffect };
  process.stdout.write(args.flags.json ? `${JSON.stringify({ ...head, ...report }, null, 2)}\n` : formatReplay(report, head));
  return 0;
}

/** DIR, absolute; a directory that is not there is an error here (a policy directory that is absent would mean "no rules"). */
async function candidateDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const info = await stat(abs).catch((err: NodeJS.ErrnoException) => err);
  if (info instanceof Error || !info.isDirectory()) {
    const why = info instanceof Error ? `cannot read the policy directory (${info.code ?? String(info)})` : 'not a directory';
    throw new ConfigError([{ file: abs, path: '', message: why, fix: 'give --policies the directory of the candidate policy files' }]);
  }
  return abs;
}

/** Line by line (audit files may be large); a file that cannot be read is a ConfigError. */
async function readLines(file: string, each: (lineNo: number, line: string) => void): Promise<void> {
  let lineNo = 0;
  try {
    const handle = await open(file, 'r');
    try {
      const lines = createInterface({ input: handle.createReadStream({ encoding: 'utf8', autoClose: false }), crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of lines) each(++lineNo, line);
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([{ file, path: '', message: `cannot read the audit file (${code})`, fix: 'give JSON-lines audit files (gateway.audit.file)' }]);
  }
}

/** The report as text: the counts, then newly denied and newly allowed three ways, with examples. */
export function formatReplay(report: ReplayReport, head: { policies: string; policyFiles: readonly string[]; defaultEffect: string }): string {
  const c = report.counts;
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  const out = [
    `Audit replay under ${head.policies} (${n(head.policyFiles.length, 'policy file')}, default effect ${head.defaultEffect})`,
    `  records read:      ${c.records} (${n(report.files.length, 'file')}; ${n(c.otherLines, 'other line')}; ${n(c.malformed, 'malformed line')})`,
    `  re-decided:        ${c.reDecided}`,
    `    unchanged:       ${c.unchanged}${c.ruleChanged > 0 ? ` (${c.ruleChanged} decided by another rule)` : ''}`,
    `    newly denied:    ${c.newlyDenied}`,
    `    newly allowed:   ${c.newlyAllowed}`,
    `  not re-evaluable:  ${c.notReEvaluable}`,
  ];
  for (const g of report.notReEvaluable) {
    out.push(`    could not re-evaluate (${g.label}): ${g.count}`);
    for (const ex of g.examples) out.push(`      ${exampleLine(ex)}`);
  }
  out.push(`  skipped:           ${c.skipped}`);
  for (const s of report.skipped) {
    const codes = Object.entries(s.codes).map(([code, count]) => `${code} ${count}`);
    out.push(`    ${s.label}: ${s.count} (${codes.join(', ')})`);
  }
  for (const m of report.malformedLines) out.push(`  malformed: ${m.file}:${m.line}: ${m.reason}`);
  if (c.malformed > report.malformedLines.length) out.push(`  malformed: … and ${c.malformed - report.malformedLines.length} more`);
  if (c.rateLimited > 0) out.push(`  ${n(c.rateLimited, 're-decided record')} had been refused by a rate limit after policy allowed it.`);
  for (const note of report.notes) out.push(`  note: ${note}`);
  changes(out, 'Newly denied', report.newlyDenied);
  changes(out, 'Newly allowed', report.newlyAllowed);
  return `${out.join('\n')}\n`;
}

function changes(out: string[], title: string, r: ChangeReport): void {
  out.push('', `${title}: ${r.count === 0 ? 'none' : r.count}`);
  if (r.count === 0) return;
  const section = <G extends { count: number; examples: ReplayExample[] }>(name: string, groups: G[], label: (g: G) => string) => {
    out.push(`  by ${name}:`);
    for (const g of groups) {
      out.push(`    ${label(g)}: ${g.count}`);
      for (const ex of g.examples) out.push(`      ${exampleLine(ex, false)}`);
    }
  };
  section('rule (candidate, was)', r.byRule, (g) => `${g.rule}, was ${g.originalRule}`);
  section('principal', r.byPrincipal, (g) => g.principal);
  section('tool', r.byTool, (g) => `${g.server} ${g.tool}${g.method === 'tools/call' ? '' : ` (${g.method})`}`);
}

function exampleLine(ex: ReplayExample, detail = true): string {
  const what = `${ex.server} ${ex.tool}${ex.method === 'tools/call' ? '' : ` (${ex.method})`}`;
  return `${ex.time}  ${ex.principal}  ${what}  ${ex.requestId === undefined ? '-' : `request ${ex.requestId}`}${detail && ex.detail ? `  ${ex.detail}` : ''}`;
}

function usage(message: string): number {
  process.stderr.write(usageErrorText(message, 'audit replay'));
  return 2;
}
