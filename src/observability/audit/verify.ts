/**
 * Verifying audit files (`switchboard audit verify`): every line's hash is
 * recomputed with an independent JCS implementation, and each writer's chain
 * is followed by seq and prev. The first broken link of each writer is
 * reported as edited, removed, reordered or malformed; with the public key,
 * checkpoint signatures are checked, and a signed log that does not end in a
 * final checkpoint is reported as cut off (truncated, or still being written
 * by a gateway that has not stopped).
 */
import type { KeyObject } from 'node:crypto';
import { canonicalHash } from '../../infra/canonical.js';
import { keyIdOf, verifySignature } from './signing.js';

export type ProblemKind = 'malformed' | 'edited' | 'removed' | 'reordered' | 'bad-signature' | 'truncated';

export interface VerifyProblem {
  kind: ProblemKind;
  file: string;
  /** 1-based line in `file` (for truncated: the last line of the writer). */
  line: number;
  writer?: string;
  seq?: number;
  message: string;
}

export interface WriterSummary {
  writer: string;
  lines: number;
  firstSeq: number;
  lastSeq: number;
  checkpoints: number;
  /** Ends in a final checkpoint (a clean shutdown, signed). */
  closed: boolean;
  /** The first line seen is seq 0 (the audit-start line); otherwise earlier files were not given (rotated away). */
  fromStart: boolean;
}

export interface VerifyReport {
  ok: boolean;
  lines: number;
  writers: WriterSummary[];
  problems: VerifyProblem[];
  /** Checkpoint signatures were checked (a public key was given). */
  signaturesChecked: boolean;
}

interface WriterState extends WriterSummary {
  prevHash: string | null;
  broken: boolean;
  lastFile: string;
  lastLine: number;
}

/** Verifies the files' lines in the order given (`audit.log.* audit.log` from a shell is oldest first). */
export function verifyAudit(files: readonly { file: string; text: string }[], publicKey?: KeyObject): VerifyReport {
  const writers = new Map<string, WriterState>();
  const problems: VerifyProblem[] = [];
  const keyId = publicKey ? keyIdOf(publicKey) : undefined;
  const parsed = files.flatMap(({ file, text }) => {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.map((raw, index) => ({ where: { file, line: index + 1 }, line: parseLine(raw) }));
  });
  // Every seq each writer has anywhere: a line missing here but present later was moved, not removed.
  const present = new Map<string, Set<number>>();
  for (const { line } of parsed) {
    if (!line) continue;
    let seqs = present.get(line.writer);
    if (!seqs) present.set(line.writer, (seqs = new Set()));
    seqs.add(line.seq);
  }
  for (const { where, line } of parsed) {
    if (!line) {
      problems.push({ kind: 'malformed', ...where, message: 'not a JSON object with writer, seq, prev and hash' });
      continue;
    }
    const state = writers.get(line.writer) ?? newWriter(writers, line);
    if (state.broken) continue;
    const problem = checkLine(state, line, present.get(line.writer)!, keyId, publicKey);
    if (problem) {
      state.broken = true;
      problems.push({ ...problem, ...where, writer: line.writer, seq: line.seq });
      continue;
    }
    advance(state, line, where);
  }
  for (const w of writers.values()) {
    // With the key, the log is expected signed: a writer must end in a final checkpoint (one cut before its
    // only checkpoint has none at all). Without it, only a writer that has checkpoints is held to that.
    if (!w.broken && (w.checkpoints > 0 || publicKey !== undefined) && !w.closed)
      problems.push({
        kind: 'truncated',
        file: w.lastFile,
        line: w.lastLine,
        writer: w.writer,
        seq: w.lastSeq,
        message: `the signed log does not end in a final checkpoint: lines after the last checkpoint may have been cut off (or the gateway has not stopped yet); last line seq ${w.lastSeq}`,
      });
  }
  const summaries = [...writers.values()].map(({ prevHash: _p, broken: _b, lastFile: _f, lastLine: _l, ...summary }) => summary);
  return { ok: problems.length === 0, lines: parsed.length, writers: summaries, problems, signaturesChecked: publicKey !== undefined };
}

interface Line {
  value: Record<string, unknown>;
  writer: string;
  seq: number;
  prev: string | null;
  hash: string;
}

function parseLine(raw: string): Line | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.writer !== 'string' || !Number.isInteger(v.seq) || typeof v.hash !== 'string' || (v.prev !== null && typeof v.prev !== 'string'))
    return undefined;
  return { value: v, writer: v.writer, seq: v.seq as number, prev: v.prev as string | null, hash: v.hash };
}

function newWriter(writers: Map<string, WriterState>, first: Line): WriterState {
  const state: WriterState = {
    writer: first.writer,
    lines: 0,
    firstSeq: first.seq,
    lastSeq: first.seq - 1,
    checkpoints: 0,
    closed: false,
    fromStart: first.seq === 0,
    // A writer first seen mid-chain (earlier files rotated away) is followed from its own prev.
    prevHash: first.prev,
    broken: false,
    lastFile: '',
    lastLine: 0,
  };
  writers.set(first.writer, state);
  return state;
}

/** The first thing wrong with `line` as the next line of `state`'s chain, if anything. */
function checkLine(
  state: WriterState,
  line: Line,
  present: ReadonlySet<number>,
  keyId?: string,
  publicKey?: KeyObject,
): Omit<VerifyProblem, 'file' | 'line'> | undefined {
  const { hash: _hash, signature, ...body } = line.value;
  if (canonicalHash(line.value.type === 'audit-checkpoint' ? body : { ...body, ...(signature !== undefined ? { signature } : {}) }) !== line.hash)
    return { kind: 'edited', message: 'the line does not hash to its "hash": it was changed after it was written' };
  const expected = state.lastSeq + 1;
  if (line.seq > expected && present.has(expected)) return { kind: 'reordered', message: `seq ${line.seq} comes before seq ${expected}: lines were moved` };
  if (line.seq > expected)
    return { kind: 'removed', message: `seq ${expected}${line.seq - 1 > expected ? `–${line.seq - 1}` : ''} missing: lines were removed` };
  if (line.seq < expected) return { kind: 'reordered', message: `seq ${line.seq} comes after seq ${state.lastSeq}: lines were moved or repeated` };
  if (line.prev !== state.prevHash) return { kind: 'edited', message: "the line does not name the previous line's hash: a line before it was replaced" };
  if (line.value.type === 'audit-checkpoint' && publicKey) {
    if (line.value.keyId !== keyId) return { kind: 'bad-signature', message: `the checkpoint names key ${String(line.value.keyId)}, not the key given` };
    if (typeof signature !== 'string' || !verifySignature(publicKey, line.hash, signature))
      return { kind: 'bad-signature', message: 'the checkpoint signature does not verify: the chain up to it was rewritten' };
  }
  return undefined;
}

function advance(state: WriterState, line: Line, where: { file: string; line: number }): void {
  state.lines++;
  state.lastSeq = line.seq;
  state.prevHash = line.hash;
  state.lastFile = where.file;
  state.lastLine = where.line;
  const checkpoint = line.value.type === 'audit-checkpoint';
  if (checkpoint) state.checkpoints++;
  state.closed = checkpoint && line.value.final === true;
}
