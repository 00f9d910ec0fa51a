/**
 * The contract guard: on every catalog rebuild it hashes what each ready
 * upstream serves, compares it with the lock, runs the poisoning lint, and
 * returns a verdict per entry (served, or quarantined and why). It reports
 * each drift and finding once (an event), not on every rebuild, and compiles
 * argument checks once per contract.
 */
import { LRUCache } from 'lru-cache';
import type { ServerPinning } from '../config/schema/contracts.js';
import { ArgumentValidators, type ArgumentCheck } from './arguments.js';
import { contractOf, hashFields, type Contract, type ContractKind } from './contract.js';
import { lockedEntries, lockedEntry, type Lock } from './lock.js';
import { scanContracts, type Finding, type Severity } from './scan/index.js';
import { judge, type Verdict } from './verdict.js';

export interface ServedEntries {
  server: string;
  pinning: ServerPinning;
  lists: { tools: readonly object[]; prompts: readonly object[]; resourceTemplates: readonly object[] };
}

export type DriftKind = 'new' | 'changed' | 'removed';

export type ContractEvent =
  | {
      type: 'drift';
      drift: DriftKind;
      server: string;
      kind: ContractKind;
      name: string;
      drifted: string[];
      widening: string[];
      /** The live contract's hash (named so as not to be an audit line's own "hash"). */
      contractHash?: string;
      approvedHash?: string;
      /** What the gateway does about it. */
      action: 'quarantined' | 'served' | 'gone';
    }
  | { type: 'finding'; finding: Finding; action: 'quarantined' | 'served' };

export interface ContractSettings {
  scan: { mode: 'off' | 'warn' | 'quarantine'; severity: Severity };
  validateArguments: 'off' | 'warn' | 'enforce';
}

export interface RemovedEntry {
  server: string;
  kind: ContractKind;
  name: string;
  approvedHash: string;
}

/** One rebuild's verdicts. */
export class ContractReview {
  constructor(
    private readonly verdicts: Map<string, Verdict>,
    /** In the lock, but no longer served by a ready server. */
    readonly removed: RemovedEntry[],
  ) {}

  verdict(server: string, kind: ContractKind, name: string): Verdict | undefined {
    return this.verdicts.get(keyOf(server, kind, name));
  }

  all(): Verdict[] {
    return [...this.verdicts.values()];
  }

  quarantined(): Verdict[] {
    return this.all().filter((v) => v.quarantine);
  }
}

const SECTIONS = [
  ['tool', 'tools'],
  ['prompt', 'prompts'],
  ['resourceTemplate', 'resourceTemplates'],
] as const;
/** Compiled argument checks kept (one per tool contract in use; a bound for upstreams that churn). */
const MAX_CHECKS = 5000;

export class ContractGuard {
  private readonly validators = new ArgumentValidators();
  private readonly checks = new LRUCache<string, ArgumentCheck>({ max: MAX_CHECKS });
  /** Listed items are replaced, never mutated, on refresh: their hash is kept per object. */
  private hashes = new WeakMap<object, string>();
  /** What was last reported per entry, so an event is sent once per drift, not per rebuild. */
  private reported = new Map<string, string>();

  constructor(
    private settings: ContractSettings,
    private lock: Lock | undefined,
    private readonly onEvent: (event: ContractEvent) => void,
  ) {}

  /** A reloaded lock (or settings): the next review uses them; drift is reported afresh. */
  update(lock: Lock | undefined, settings: ContractSettings = this.settings): void {
    this.lock = lock;
    this.settings = settings;
    this.reported = new Map();
  }

  get validation(): ContractSettings['validateArguments'] {
    return this.settings.validateArguments;
  }

  review(served: readonly ServedEntries[]): ContractReview {
    const review = this.judge(served);
    this.report(review.all(), review.removed);
    return review;
  }

  /**
   * Verdicts on lists served to one caller (a server that acts as each
   * caller): judged like the shared catalog, without reporting (a drift is
   * reported once, when the shared review or another caller's listing sees it).
   */
  judgeAlone(served: readonly ServedEntries[]): ContractReview {
    return this.judge(served);
  }

  /**
   * A call by name to a server that acts as each caller, whose live contract
   * is the caller's to list: decided on the lock alone. Approved: served with
   * the approved annotations and schema; not in the lock: as `onNew` says.
   */
  approvedOnly(server: string, pinning: ServerPinning, kind: ContractKind, name: string): Verdict | undefined {
    if (pinning.mode === 'off') return undefined;
    const approved = this.lock && lockedEntry(this.lock, server, kind, name);
    const contract: Contract = { kind, server, name, fields: approved?.contract ?? {} };
    return judge(contract, approved?.hash ?? '', approved, [], { pinning, scan: { mode: 'off', severity: 'high' } });
  }

  private judge(served: readonly ServedEntries[]): ContractReview {
    const contracts = served.flatMap((s) => this.contractsOf(s));
    const findings = this.settings.scan.mode === 'off' ? [] : scanContracts(contracts.map((c) => c.contract));
    const findingsOf = groupFindings(findings);
    const verdicts = new Map<string, Verdict>();
    const pinningOf = new Map(served.map((s) => [s.server, s.pinning]));
    for (const { contract, hash } of contracts) {
      const pinning = pinningOf.get(contract.server)!;
      const approved = this.lock && lockedEntry(this.lock, contract.server, contract.kind, contract.name);
      const own = findingsOf.get(keyOf(contract.server, contract.kind, contract.name)) ?? [];
      const verdict = judge(contract, hash, approved, own, { pinning, scan: this.settings.scan });
      verdicts.set(keyOf(contract.server, contract.kind, contract.name), verdict);
    }
    return new ContractReview(verdicts, this.removedEntries(served, verdicts));
  }

  /** The check for a tool's arguments, or undefined when validation is off or there is no schema. */
  argumentCheck(verdict: Verdict): ArgumentCheck | undefined {
    if (this.settings.validateArguments === 'off' || verdict.inputSchema === undefined) return undefined;
    if (verdict.check) return verdict.check;
    const key = `${verdict.inputSchema === undefined ? '' : (verdict.approvedHash ?? verdict.hash)}`;
    let check = this.checks.get(key);
    if (!check) {
      check = this.validators.compile(verdict.inputSchema);
      this.checks.set(key, check);
    }
    verdict.check = check;
    return check;
  }

  private contractsOf(s: ServedEntries): { contract: Contract; hash: string }[] {
    const out: { contract: Contract; hash: string }[] = [];
    for (const [kind, section] of SECTIONS) {
      for (const item of s.lists[section]) {
        const contract = contractOf(kind, s.server, item as Record<string, unknown>);
        if (!contract) continue;
        let hash = this.hashes.get(item);
        if (!hash) {
          hash = hashFields(contract.fields);
          this.hashes.set(item, hash);
        }
        out.push({ contract, hash });
      }
    }
    return out;
  }

  private removedEntries(served: readonly ServedEntries[], verdicts: Map<string, Verdict>): RemovedEntry[] {
    if (!this.lock) return [];
    const out: RemovedEntry[] = [];
    for (const s of served) {
      if (s.pinning.mode === 'off') continue;
      for (const { kind, name, entry } of lockedEntries(this.lock, s.server)) {
        if (!verdicts.has(keyOf(s.server, kind, name))) out.push({ server: s.server, kind, name, approvedHash: entry.hash });
      }
    }
    return out;
  }

  private report(verdicts: Verdict[], removed: RemovedEntry[]): void {
    const seen = new Map<string, string>();
    const once = (key: string, signature: string, emit: () => void) => {
      seen.set(key, signature);
      if (this.reported.get(key) !== signature) emit();
    };
    for (const v of verdicts) {
      const key = keyOf(v.server, v.kind, v.name);
      if (v.status === 'new' || v.status === 'changed') once(key, `${v.status}:${v.hash}`, () => this.onEvent(driftEvent(v)));
      for (const f of v.findings)
        once(`finding:${f.id}`, v.hash, () => this.onEvent({ type: 'finding', finding: f, action: v.quarantine ? 'quarantined' : 'served' }));
    }
    for (const r of removed) {
      once(keyOf(r.server, r.kind, r.name), `removed:${r.approvedHash}`, () =>
        this.onEvent({
          type: 'drift',
          drift: 'removed',
          server: r.server,
          kind: r.kind,
          name: r.name,
          drifted: [],
          widening: [],
          approvedHash: r.approvedHash,
          action: 'gone',
        }),
      );
    }
    // Only what is current is remembered: the map stays as large as the catalog.
    this.reported = seen;
  }
}

function driftEvent(v: Verdict): ContractEvent {
  return {
    type: 'drift',
    drift: v.status === 'new' ? 'new' : 'changed',
    server: v.server,
    kind: v.kind,
    name: v.name,
    drifted: v.drifted,
    widening: v.widening,
    contractHash: v.hash,
    ...(v.approvedHash ? { approvedHash: v.approvedHash } : {}),
    action: v.quarantine ? 'quarantined' : 'served',
  };
}

function groupFindings(findings: Finding[]): Map<string, Finding[]> {
  const out = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = keyOf(f.server, f.kind, f.name);
    const list = out.get(key);
    if (list) list.push(f);
    else out.set(key, [f]);
  }
  return out;
}

function keyOf(server: string, kind: ContractKind, name: string): string {
  return `${server}\u0000${kind}\u0000${name}`;
}
