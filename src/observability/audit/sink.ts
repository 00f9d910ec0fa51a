/**
 * The audit sink: records are sealed into the writer's hash chain and go out
 * in one write per event-loop turn (a write per call cost 3–4 % of the
 * gateway's CPU). A target that falls more than MAX_QUEUE_BYTES behind, or
 * cannot write, gets no more lines until it recovers: the records it missed
 * are counted, reported in /readyz, and written as one `audit-gap` line, so
 * nothing is lost silently and the chain stays whole. (Lines a file accepted
 * and then failed to write are lost with the write; the verifier then finds
 * their seqs missing, and the failure is counted and shown.) With a signing key,
 * signed checkpoints go out every `checkpointEvery` lines, every
 * `checkpointMs`, and last at close.
 */
import type { AuditChain } from './chain.js';
import type { Signer } from './signing.js';
import type { Target } from './target.js';

/** How far behind a target may fall before lines are held back (a stalled disk or an unread stderr pipe). */
export const MAX_QUEUE_BYTES = 16 * 1024 * 1024;

export interface AuditHealth {
  /** ok; lagging: behind by more than MAX_QUEUE_BYTES; failed: cannot write (error class in `error`). */
  state: 'ok' | 'lagging' | 'failed';
  queuedBytes: number;
  /** Records not written since start (each also in an audit-gap line once the target recovers). */
  dropped: number;
  error?: string;
}

interface Pending {
  record: Record<string, unknown>;
  /** Built in canonical order with the chain's fields in place; `nested`: its nested values checked too. */
  inPlace: boolean;
  nested?: boolean;
}

export interface ChainedSinkOptions {
  chain: AuditChain;
  version: string;
  signer?: Signer;
  checkpointEvery: number;
  checkpointMs: number;
  onDropped?: (records: number) => void;
}

export class ChainedSink {
  private batch: Pending[] = [];
  private scheduled = false;
  private dropped = 0;
  /** Dropped since the last gap line. */
  private missing = 0;
  private sinceCheckpoint = 0;
  private readonly timer?: NodeJS.Timeout;
  private closed = false;
  /** Who reads lines as they are written (the console's live stream); each told after the write. */
  private readonly listeners = new Set<(line: string) => void>();

  constructor(
    private readonly target: Target | ((line: string) => void),
    private readonly options: ChainedSinkOptions,
  ) {
    this.push({ type: 'audit-start', time: new Date().toISOString(), version: options.version });
    if (options.signer) {
      this.timer = setInterval(() => {
        if (this.sinceCheckpoint > 0) this.push(this.checkpoint(false));
      }, options.checkpointMs);
      this.timer.unref();
    }
  }

  /** `inPlace`: the record is built in canonical order with the chain's fields in place (see AuditChain.sealInPlace). */
  push(record: Record<string, unknown>, inPlace = false, nested = false): void {
    if (this.closed) return;
    const pending = { record, inPlace, nested };
    if (typeof this.target === 'function') return this.emit([pending]);
    if (this.batch.push(pending) === 1 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Lines as they are written, from now on; returns the unsubscribe. */
  subscribe(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  health(): AuditHealth {
    if (typeof this.target === 'function') return { state: 'ok', queuedBytes: 0, dropped: this.dropped };
    const queuedBytes = this.target.pending();
    const error = this.target.failure();
    const state = error ? 'failed' : queuedBytes > MAX_QUEUE_BYTES ? 'lagging' : 'ok';
    return { state, queuedBytes, dropped: this.dropped, ...(error ? { error } : {}) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    this.flush();
    if (this.options.signer) this.emit([{ record: this.checkpoint(true), inPlace: false }]);
    this.closed = true;
    if (typeof this.target !== 'function') await this.target.close();
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    // Behind by more than the bound: not sealed, so the chain stays whole; the count goes into the gap line.
    if (typeof this.target !== 'function' && !this.target.failure() && this.target.pending() > MAX_QUEUE_BYTES) return this.drop(batch.length);
    this.emit(batch);
  }

  /**
   * Seals and writes `records` (after a gap line if records were dropped).
   * A target that says it did not write them (it is failing) gets the chain
   * rolled back, so the lines it lost never took a place in it.
   */
  private emit(records: Pending[]): void {
    const { chain } = this.options;
    const before = chain.state();
    const sinceCheckpoint = this.sinceCheckpoint;
    const lines: string[] = [];
    if (this.missing > 0)
      lines.push(
        chain.seal({ type: 'audit-gap', time: new Date().toISOString(), dropped: this.missing, reason: 'the sink fell behind or could not write' }).line,
      );
    for (const { record, inPlace, nested } of records) {
      if (record.type === 'audit-checkpoint') {
        lines.push(this.sealCheckpoint(record));
        continue;
      }
      lines.push((inPlace ? chain.sealInPlace(record as { prev: string | null; seq: number; writer: string }, nested) : chain.seal(record)).line);
      if (this.options.signer && ++this.sinceCheckpoint >= this.options.checkpointEvery) lines.push(this.sealCheckpoint(this.checkpoint(false)));
    }
    if (typeof this.target === 'function') {
      for (const line of lines) this.target(line);
    } else if (!this.target.write(lines.join(''))) {
      chain.restore(before);
      this.sinceCheckpoint = sinceCheckpoint;
      return this.drop(records.length);
    }
    this.missing = 0;
    for (const listener of this.listeners) for (const line of lines) listener(line);
  }

  private drop(records: number): void {
    this.dropped += records;
    this.missing += records;
    this.options.onDropped?.(records);
  }

  private checkpoint(final: boolean): Record<string, unknown> {
    return { type: 'audit-checkpoint', time: new Date().toISOString(), final, keyId: this.options.signer!.keyId };
  }

  /** A checkpoint's signature is over its own hash, so it is added after sealing (and left out of the hash). */
  private sealCheckpoint(checkpoint: Record<string, unknown>): string {
    this.sinceCheckpoint = 0;
    const signer = this.options.signer!;
    return this.options.chain.seal(checkpoint, (hash) => ({ signature: signer.sign(hash) })).line;
  }
}
