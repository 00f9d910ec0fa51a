/**
 * `switchboard policy coverage [--config F] [--json] [AUDIT_FILE…]`: which
 * catalog entries the policy covers, which rules can never match (dead) or
 * never decide (shadowed), and with audit files which rules never fired and
 * which tools were never called. Starts the upstreams alone (no policy in the
 * way, as `pin` and `scan` do), reads every list, stops them; the analysis is
 * policy/coverage.ts. Exit 0 with the report; 1 if the policy set, the config
 * or an audit file cannot be read.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { knownNames } from '../../app/policy-runtime.js';
import { settledUpstreams } from '../../app/upstream-events.js';
import { exposeName, exposeUri } from '../../catalog/names.js';
import type { LoadedConfig, LogLevel } from '../../config/schema/index.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../observability/log.js';
import { newAuditTally, tallyLine, type AuditTally } from '../../policy/coverage-audit.js';
import { analyzeCoverage, type CatalogEntry, type CoverageReport, type ServerNote } from '../../policy/coverage.js';
import { loadPolicyDir } from '../../policy/load.js';
import { UpstreamCaches } from '../../upstream/caches.js';
import { Upstream } from '../../upstream/server.js';
import type { ParsedArgs } from '../args.js';
import { table } from '../table.js';
import { SETTLE_MS } from './serve.js';

export { coveragePercent, type CoverageReport } from '../../policy/coverage.js';

export interface CoverageOptions {
  /** Where the report goes (default: stdout). */
  write?: (text: string) => void;
  /** How long to wait for the upstreams (default: what `serve` waits). */
  settleMs?: number;
}

export async function policyCoverage(config: LoadedConfig, args: ParsedArgs, options: CoverageOptions = {}): Promise<number> {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const logLevel = (args.flags['log-level'] as LogLevel | undefined) ?? 'error';
  const report = await coverageReport(config, args.positionals.slice(1), { settleMs: options.settleMs ?? SETTLE_MS, logLevel });
  write(args.flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatCoverage(report));
  return 0;
}

/** The report for a config: its policy directory, its live upstreams, and the audit files given (paths as given). */
export async function coverageReport(
  config: LoadedConfig,
  auditFiles: readonly string[],
  options: { settleMs: number; logLevel?: LogLevel },
): Promise<CoverageReport> {
  // Everything that can fail on the operator's input fails before any upstream starts.
  const set = loadPolicyDir(config.gateway.policies, knownNames(config));
  const audit = auditFiles.length > 0 ? await readAudit(auditFiles) : undefined;
  const live = await readCatalog(config, options.settleMs, options.logLevel ?? 'error');
  return analyzeCoverage({
    set,
    defaultEffect: config.gateway.defaultEffect,
    trustedServers: config.servers.filter((s) => s.trustAnnotations).map((s) => s.name),
    ...live,
    ...(audit ? { audit } : {}),
  });
}

interface LiveCatalog {
  read: string[];
  unreadable: ServerNote[];
  offline: ServerNote[];
  entries: CatalogEntry[];
}

/** Starts every enabled upstream, waits for them, reads their tools, prompts, resources and templates, stops them. */
export async function readCatalog(config: LoadedConfig, settleMs: number, level: LogLevel = 'error'): Promise<LiveCatalog> {
  const log = createLogger({ level, pretty: true });
  const caches = new UpstreamCaches();
  const upstreams = config.servers.map(
    (server) => new Upstream(server, log.child({ server: server.name }), { maxTotalTimeoutMs: config.gateway.maxRequestTimeoutMs, caches }),
  );
  const out: LiveCatalog = { read: [], unreadable: [], offline: config.skipped.map((s) => ({ server: s.name, reason: s.reason })), entries: [] };
  try {
    for (const u of upstreams) u.start();
    await settledUpstreams(upstreams, settleMs);
    const sep = config.gateway.separator;
    for (const u of upstreams) {
      const { prefix } = u.config;
      if (u.state === 'disabled') out.offline.push({ server: u.name, reason: 'disabled' });
      else if (u.perCaller) out.unreadable.push({ server: u.name, reason: 'acts as each caller: what it serves is per user' });
      else if (u.state !== 'ready') out.unreadable.push({ server: u.name, reason: `not ready (${u.errorClass ?? u.state})` });
      else {
        out.read.push(u.name);
        const { tools, prompts, resources, resourceTemplates } = u.lists;
        const at = (kind: CatalogEntry['kind'], name: string, exposed: string): CatalogEntry => ({ kind, server: u.name, name, exposed });
        for (const t of tools) out.entries.push({ ...at('tool', t.name, exposeName(prefix, t.name, sep)), annotations: { ...t.annotations } });
        for (const p of prompts) out.entries.push(at('prompt', p.name, exposeName(prefix, p.name, sep)));
        for (const r of resources) out.entries.push(at('resource', r.uri, exposeUri(prefix, r.uri)));
        for (const t of resourceTemplates) out.entries.push(at('resourceTemplate', t.uriTemplate, exposeUri(prefix, t.uriTemplate)));
      }
    }
  } finally {
    await Promise.allSettled(upstreams.map((u) => u.stop()));
    caches.close();
  }
  return out;
}

/** Reads audit files line by line (they may be large); a file that cannot be read is a ConfigError. */
async function readAudit(files: readonly string[]): Promise<AuditTally> {
  const tally = newAuditTally();
  for (const file of files) {
    if (!tally.files.includes(file)) tally.files.push(file);
    let lineNo = 0;
    try {
      const handle = await open(file, 'r');
      try {
        const lines = createInterface({ input: handle.createReadStream({ encoding: 'utf8', autoClose: false }), crlfDelay: Number.POSITIVE_INFINITY });
        for await (const line of lines) tallyLine(tally, file, ++lineNo, line);
      } finally {
        await handle.close();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new ConfigError([{ file, path: '', message: `cannot read the audit file (${code})`, fix: 'give JSON-lines audit files (gateway.audit.file)' }]);
    }
  }
  return tally;
}

/** The report as text: a summary, then one table per category ("none" when empty). */
export function formatCoverage(report: CoverageReport): string {
  const out: string[] = [];
  const { totals, servers } = report;
  const where = (file: string) => (file ? path.relative(process.cwd(), file) || file : '');
  out.push(`Policy coverage: ${totals.covered} of ${totals.entries} catalog entries (${totals.percent.toFixed(1)}%) are matched by some rule.`);
  for (const note of report.notes) out.push(`  note: ${note}`);
  out.push('', `Servers read: ${servers.read.join(', ') || 'none'}`);
  for (const s of servers.unreadable) out.push(`Server not read: ${s.server}: ${s.reason}; what it serves is unknown and not counted`);
  for (const s of servers.offline) out.push(`Server offline: ${s.server}: ${s.reason}`);
  const section = (title: string, rows: string[][], header: string[]) => {
    out.push('', `${title}${rows.length === 0 ? ': none' : ` (${rows.length}):`}`);
    if (rows.length > 0) out.push(table(header, rows).trimEnd());
  };
  section(
    'Uncovered entries, decided without any rule',
    report.uncovered.map((e) => [
      e.kind,
      e.server,
      e.name,
      e.exposed ?? '',
      e.decidedBy === 'server-settings' ? 'server settings' : 'gateway default',
      e.setting,
      e.effect,
    ]),
    ['KIND', 'SERVER', 'NAME', 'EXPOSED', 'DECIDED BY', 'SETTING', 'EFFECT'],
  );
  section(
    'Dead rules, which can never match',
    report.deadRules.map((r) => [r.ruleId, r.effect, where(r.file), r.reason]),
    ['RULE', 'EFFECT', 'FILE', 'WHY'],
  );
  section(
    'Shadowed rules, which match but never decide',
    report.shadowedRules.map((r) => [r.ruleId, r.effect, where(r.file), r.by.join(', '), r.reason]),
    ['RULE', 'EFFECT', 'FILE', 'SHADOWED BY', 'WHY'],
  );
  if (report.undeterminedRules.length > 0)
    section(
      'Rules not judged, for a server that could not be read',
      report.undeterminedRules.map((r) => [r.ruleId, r.effect, where(r.file), r.reason]),
      ['RULE', 'EFFECT', 'FILE', 'WHY'],
    );
  const audit = report.audit;
  if (audit) {
    out.push('', `Audit: ${audit.records} records in ${audit.files.length} file${audit.files.length === 1 ? '' : 's'} (${audit.skipped} other lines skipped).`);
    if (audit.malformed > 0)
      out.push(
        `  ${audit.malformed} malformed line${audit.malformed === 1 ? '' : 's'}: ${audit.malformedLines.map((m) => `${m.file}:${m.line} (${m.reason})`).join(', ')}`,
      );
    if (audit.dropped > 0) out.push(`  ${audit.dropped} records were dropped by the writer (audit-gap): what never fired may have.`);
    for (const u of audit.unknownRuleIds) out.push(`  rule "${u.ruleId}" decided ${u.count} recorded request(s) but is not in the policy now`);
    section(
      'Rules that never fired, named as deciding by no record',
      audit.neverFired.map((r) => [r.ruleId, r.effect, where(r.file)]),
      ['RULE', 'EFFECT', 'FILE'],
    );
    section(
      'Tools never called, in no tools/call record',
      audit.neverCalled.map((t) => [t.server, t.name, t.exposed ?? '']),
      ['SERVER', 'TOOL', 'EXPOSED'],
    );
  }
  return `${out.join('\n')}\n`;
}
