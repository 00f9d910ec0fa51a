/**
 * The contract steps of `switchboard policy explain`, decided from the lock
 * alone (no upstream is started): whether the tool is approved or would be
 * quarantined, which annotations the decision relies on, and whether the
 * arguments pass the approved input schema. Live drift is `pin --check`'s job.
 */
import type { ServerPinning } from '../config/schema/contracts.js';
import { ArgumentValidators, type ArgumentProblem } from './arguments.js';
import { lockedEntry, type Lock } from './lock.js';

export interface ContractStep {
  /** pinned: in the lock; new: not in it; unchecked: pinning is off for this server. */
  status: 'pinned' | 'new' | 'unchecked';
  hash?: string;
  /** Set when the gateway would refuse the call as TOOL_QUARANTINED. */
  quarantined?: { reason: 'new' };
  /** What the policy decision relies on: approved annotations, {} for an unapproved tool, none when unchecked. */
  annotations?: Record<string, unknown>;
}

export interface ArgumentStep {
  mode: 'off' | 'warn' | 'enforce';
  /** Whether there was a schema to validate against (the approved one). */
  schema: 'approved' | 'none';
  problems: ArgumentProblem[];
  /** enforce and problems: refused with ARGUMENTS_INVALID before policy is asked. */
  refused: boolean;
}

export function explainContract(lock: Lock | undefined, pinning: ServerPinning, server: string, tool: string): ContractStep {
  if (pinning.mode === 'off') return { status: 'unchecked' };
  const entry = lock && lockedEntry(lock, server, 'tool', tool);
  if (!entry) {
    const quarantine = pinning.mode === 'enforce' && pinning.onNew === 'quarantine';
    return { status: 'new', annotations: {}, ...(quarantine ? { quarantined: { reason: 'new' as const } } : {}) };
  }
  const annotations = entry.contract.annotations;
  return { status: 'pinned', hash: entry.hash, annotations: isObject(annotations) ? annotations : {} };
}

export function explainArguments(
  lock: Lock | undefined,
  server: string,
  tool: string,
  args: Record<string, unknown>,
  mode: ArgumentStep['mode'],
): ArgumentStep {
  const schema = lock && lockedEntry(lock, server, 'tool', tool)?.contract.inputSchema;
  if (mode === 'off' || schema === undefined) return { mode, schema: schema === undefined ? 'none' : 'approved', problems: [], refused: false };
  const problems = new ArgumentValidators().compile(schema)(args);
  return { mode, schema: 'approved', problems, refused: mode === 'enforce' && problems.length > 0 };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
