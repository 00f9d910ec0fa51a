/**
 * The lock against what servers serve now: every entry added, changed or
 * removed, for `switchboard pin --check` and `pin diff`, and the lock that
 * approving some of them yields.
 */
import type { Contract, ContractKind } from './contract.js';
import { diffContracts, type ContractDiff } from './diff.js';
import { lockedEntries, lockedEntry, withEntry, type Lock } from './lock.js';

export interface LiveEntry {
  contract: Contract;
  hash: string;
}

export type Difference =
  | { change: 'added'; server: string; kind: ContractKind; name: string; live: LiveEntry }
  | { change: 'changed'; server: string; kind: ContractKind; name: string; live: LiveEntry; diff: ContractDiff }
  | { change: 'removed'; server: string; kind: ContractKind; name: string };

/**
 * Differences for the servers in `servers` (those whose lists were read); others are not judged,
 * nor locked entries outside `inScope` (a `--profile` looks at part of a server).
 */
export function compareWithLock(
  lock: Lock,
  live: readonly LiveEntry[],
  servers: readonly string[],
  inScope: (server: string, kind: ContractKind, name: string) => boolean = () => true,
): Difference[] {
  const out: Difference[] = [];
  const seen = new Set<string>();
  for (const entry of live) {
    const { server, kind, name } = entry.contract;
    seen.add(`${server}\u0000${kind}\u0000${name}`);
    const approved = lockedEntry(lock, server, kind, name);
    if (!approved) out.push({ change: 'added', server, kind, name, live: entry });
    else if (approved.hash !== entry.hash)
      out.push({ change: 'changed', server, kind, name, live: entry, diff: diffContracts(approved.contract, entry.contract.fields, kind) });
  }
  for (const server of servers) {
    for (const { kind, name } of lockedEntries(lock, server)) {
      if (!seen.has(`${server}\u0000${kind}\u0000${name}`) && inScope(server, kind, name)) out.push({ change: 'removed', server, kind, name });
    }
  }
  return out;
}

/** `lock` with the given differences approved: added and changed entries take their live contract, removed ones leave. */
export function approve(lock: Lock, differences: readonly Difference[]): Lock {
  let next = lock;
  for (const d of differences) {
    const entry = d.change === 'removed' ? undefined : { hash: d.live.hash, contract: d.live.contract.fields };
    next = withEntry(next, d.server, d.kind, d.name, entry);
  }
  return next;
}
