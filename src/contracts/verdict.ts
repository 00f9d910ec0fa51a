/**
 * What the gateway makes of one listed entry against the lock: pinned,
 * new or changed (with what drifted and whether it widens), whether it is
 * quarantined and why, and what a decision about it may rely on — the
 * approved annotations and input schema, never ones nobody approved.
 */
import type { ServerPinning } from '../config/schema/contracts.js';
import type { ArgumentCheck } from './arguments.js';
import type { Contract, ContractKind } from './contract.js';
import { diffContracts, type ContractDiff } from './diff.js';
import type { LockEntry } from './lock.js';
import type { Finding, Severity } from './scan/index.js';

export type ContractStatus = 'unchecked' | 'pinned' | 'new' | 'changed';
export type QuarantineReason = 'new' | 'changed' | 'widened' | 'poisoned';

export interface Verdict {
  server: string;
  kind: ContractKind;
  /** The upstream's own name (a template: its URI template). */
  name: string;
  status: ContractStatus;
  /** The live contract's hash. */
  hash: string;
  approvedHash?: string;
  /** Changed: which covered fields differ from the lock, and why it widens (if it does). */
  drifted: string[];
  widening: string[];
  diff?: ContractDiff;
  findings: Finding[];
  quarantine?: { reason: QuarantineReason; drifted: string[] };
  /** What a decision may rely on: the approved annotations; {} when nobody approved any; the live ones with pinning off. */
  annotations: Record<string, unknown>;
  /** What arguments are validated against: the approved input schema, else the live one. */
  inputSchema?: unknown;
  /** Compiled on first use (see ContractGuard.argumentCheck). */
  check?: ArgumentCheck;
}

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

export interface VerdictSettings {
  pinning: ServerPinning;
  scan: { mode: 'off' | 'warn' | 'quarantine'; severity: Severity };
}

/** The verdict on `live` given its approved entry (if any), its findings and the server's settings. */
export function judge(live: Contract, hash: string, approved: LockEntry | undefined, findings: Finding[], settings: VerdictSettings): Verdict {
  const base = { server: live.server, kind: live.kind, name: live.name, hash, findings, drifted: [] as string[], widening: [] as string[] };
  const liveAnnotations = objectOr(live.fields.annotations);
  const { pinning } = settings;
  let verdict: Verdict;
  if (pinning.mode === 'off') {
    verdict = { ...base, status: 'unchecked', annotations: liveAnnotations, inputSchema: live.fields.inputSchema };
  } else if (!approved) {
    verdict = { ...base, status: 'new', annotations: {}, inputSchema: live.fields.inputSchema };
    if (pinning.mode === 'enforce' && pinning.onNew === 'quarantine') verdict.quarantine = { reason: 'new', drifted: [] };
  } else if (approved.hash === hash) {
    verdict = {
      ...base,
      status: 'pinned',
      approvedHash: approved.hash,
      annotations: objectOr(approved.contract.annotations),
      inputSchema: approved.contract.inputSchema,
    };
  } else {
    const diff = diffContracts(approved.contract, live.fields, live.kind);
    verdict = {
      ...base,
      status: 'changed',
      approvedHash: approved.hash,
      drifted: diff.drifted,
      widening: diff.widening,
      diff,
      annotations: objectOr(approved.contract.annotations),
      inputSchema: approved.contract.inputSchema,
    };
    // A widening is quarantined even where changes are only warned about:
    // an approved rule may rely on the narrower shape or the safer claim.
    if (pinning.mode === 'enforce' && (pinning.onChanged === 'quarantine' || diff.widens))
      verdict.quarantine = { reason: pinning.onChanged === 'quarantine' ? 'changed' : 'widened', drifted: diff.drifted };
  }
  if (!verdict.quarantine && verdict.status !== 'pinned' && poisoned(findings, settings.scan)) verdict.quarantine = { reason: 'poisoned', drifted: [] };
  return verdict;
}

/**
 * The lint quarantines only what nobody approved: an entry pinned with its
 * findings was reviewed as it is (they are still reported).
 */
function poisoned(findings: Finding[], scan: VerdictSettings['scan']): boolean {
  return scan.mode === 'quarantine' && findings.some((f) => RANK[f.severity] >= RANK[scan.severity]);
}

function objectOr(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
