/**
 * `switchboard pin`: the contract lock.
 *
 *   pin [--profile P]          write the lock from what the servers serve now (reviewed in a pull request)
 *   pin --check [--json]       exit 1 listing every difference (for CI)
 *   pin diff                   a readable per-field diff
 *   pin approve <server>[__<name>]   approve one server's entries, or one entry
 *
 * Servers that cannot be read (down, acting as each caller) keep their lock
 * entries untouched and make the command exit 1: a lock is never silently
 * partial.
 */
import { compareWithLock, approve, type Difference } from '../../contracts/compare.js';
import { formatAdded, formatDiff, formatRemoved } from '../../contracts/format-diff.js';
import { emptyLock, readLock, writeLock, type Lock } from '../../contracts/lock.js';
import type { LoadedConfig } from '../../config/schema/index.js';
import { UsageError, type ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';
import { readLiveContracts, type LiveServers } from '../live-contracts.js';
import { profileView } from '../profile-view.js';
import { SETTLE_MS } from './serve.js';

export async function pinCommand(args: ParsedArgs): Promise<number> {
  const sub = args.positionals[0];
  if (sub !== undefined && sub !== 'diff' && sub !== 'approve') return usage(`unknown subcommand '${sub}'`);
  if (sub === 'approve' && !args.positionals[1]) return usage('pin approve needs <server> or <server>__<name>');
  const config = loadConfigFromFlag(args.flags.config);
  const file = config.gateway.pinning.lock;
  const live = await readLiveContracts(config, args, profileView(config, args), SETTLE_MS);
  reportUnread(live);
  if (sub === 'approve') return approveTarget(config, file, live, args.positionals[1]!);
  const lock = readLock(file) ?? emptyLock();
  const differences = compareWithLock(lock, live.contracts, live.read, live.inView);
  if (sub === 'diff') return printDiff(differences, live);
  if (args.flags.check) return check(differences, live, args.flags.json === true);
  writeLock(file, approve(lock, differences));
  process.stderr.write(`switchboard: ${summary(differences)}; wrote ${file} (${live.contracts.length} entries from ${live.read.length} servers)\n`);
  return live.unread.some(blocking) ? 1 : 0;
}

function check(differences: Difference[], live: LiveServers, json: boolean): number {
  const failed = differences.length > 0 || live.unread.some(blocking);
  if (json) {
    const rows = differences.map((d) => ({
      change: d.change,
      server: d.server,
      kind: d.kind,
      name: d.name,
      ...(d.change === 'changed' ? { drifted: d.diff.drifted, widens: d.diff.widens, widening: d.diff.widening } : {}),
    }));
    process.stdout.write(`${JSON.stringify({ ok: !failed, differences: rows, unread: live.unread }, null, 2)}\n`);
  } else {
    for (const d of differences) process.stdout.write(`${oneLine(d)}\n`);
    process.stdout.write(failed ? `lock out of date: ${summary(differences)}\n` : 'lock up to date\n');
  }
  return failed ? 1 : 0;
}

function printDiff(differences: Difference[], live: LiveServers): number {
  const color = process.stdout.isTTY === true;
  for (const d of differences) {
    if (d.change === 'added') process.stdout.write(`${formatAdded(d.server, d.name, d.kind, { color })}\n`);
    else if (d.change === 'removed') process.stdout.write(`${formatRemoved(d.server, d.name, d.kind, { color })}\n`);
    else process.stdout.write(`${formatDiff(d.server, d.name, d.kind, d.diff, { color })}\n`);
  }
  if (differences.length === 0) process.stdout.write('no differences\n');
  return live.unread.some(blocking) ? 1 : 0;
}

/** `server` approves all of a server's differences; `server__name` one entry (any kind with that name). */
function approveTarget(config: LoadedConfig, file: string, live: LiveServers, target: string): number {
  const lock: Lock = readLock(file) ?? emptyLock();
  const { server, name } = splitTarget(config, target);
  if (!server) return fail(`no server in the config matches "${target}"`, 'use a server name from mcpServers, or <server>__<name>');
  if (!live.read.includes(server)) return fail(`server "${server}" could not be read`, 'start it (or check `switchboard catalog`) and approve again');
  const differences = compareWithLock(lock, live.contracts, [server], live.inView).filter(
    (d) => d.server === server && (name === undefined || d.name === name),
  );
  if (name !== undefined && differences.length === 0) {
    const known = live.contracts.some((c) => c.contract.server === server && c.contract.name === name);
    if (!known) return fail(`server "${server}" serves nothing named "${name}"`, 'check the name with `switchboard pin diff`');
  }
  writeLock(file, approve(lock, differences));
  for (const d of differences) process.stdout.write(`approved ${oneLine(d)}\n`);
  process.stderr.write(`switchboard: ${differences.length === 0 ? 'nothing to approve' : summary(differences)}; wrote ${file}\n`);
  return 0;
}

function splitTarget(config: LoadedConfig, target: string): { server?: string; name?: string } {
  const separator = config.gateway.separator;
  if (config.servers.some((s) => s.name === target)) return { server: target };
  const owner = config.servers.filter((s) => target.startsWith(`${s.name}${separator}`)).sort((a, b) => b.name.length - a.name.length)[0];
  return owner ? { server: owner.name, name: target.slice(owner.name.length + separator.length) } : {};
}

function oneLine(d: Difference): string {
  if (d.change === 'added') return `+ ${d.server} ${d.kind} ${d.name} (not in the lock)`;
  if (d.change === 'removed') return `- ${d.server} ${d.kind} ${d.name} (in the lock, no longer served)`;
  return `~ ${d.server} ${d.kind} ${d.name}: ${d.diff.drifted.join(', ')}${d.diff.widens ? ' (widens)' : ''}`;
}

function summary(differences: Difference[]): string {
  const count = (change: Difference['change']) => differences.filter((d) => d.change === change).length;
  return `${count('added')} new, ${count('changed')} changed, ${count('removed')} removed`;
}

/** A server that could not be read makes the lock unverifiable, unless it is off or per-caller by design. */
function blocking(u: { reason: string }): boolean {
  return u.reason !== 'disabled' && !u.reason.startsWith('acts as each caller');
}

function reportUnread(live: LiveServers): void {
  for (const u of live.unread) process.stderr.write(`switchboard: ${u.server}: ${u.reason}; its lock entries are left as they are\n`);
}

function fail(message: string, fix: string): number {
  process.stderr.write(`switchboard pin: ${message}\n  fix: ${fix}\n`);
  return 1;
}

function usage(message: string): number {
  throw new UsageError(message, 'pin');
}
