/**
 * The audit hash chain of one writer: each line carries its writer, its
 * sequence number, the previous line's hash and its own (SHA-256 over the
 * line's JCS form without "hash"), so an edited, removed or reordered line
 * breaks the chain at that point. A writer is one gateway process: its
 * replica id (or host) and the moment it started.
 */
import { hash as digest } from 'node:crypto';
import { fastCanonicalJson, mergeSorted, topLevelInOrder } from '../../infra/canonical.js';

const RESERVED = ['hash', 'signature'] as const;

export interface Sealed {
  line: string;
  seq: number;
  hash: string;
}

export class AuditChain {
  private seq = 0;
  private prev: string | null = null;

  constructor(readonly writer: string) {}

  /**
   * The next line for `record` (which has its `type`), sealed into the chain.
   * `unhashed` adds fields computed from the hash (a checkpoint's signature).
   */
  seal(record: Record<string, unknown>, unhashed?: (hash: string) => Record<string, string>): Sealed {
    // The chain's own fields are the chain's: a record carrying one would be misread by every verifier.
    for (const reserved of RESERVED) if (Object.hasOwn(record, reserved)) throw new Error(`an audit line may not carry its own "${reserved}"`);
    const canonical = fastCanonicalJson(mergeSorted(record, { prev: this.prev, seq: this.seq, writer: this.writer }));
    return this.finish(canonical, unhashed);
  }

  /**
   * Seals a record with the chain's fields already in place (the audit record
   * of a request): they are filled in. Built in canonical order, its JSON text
   * is its JCS form and this costs one check and one hash; otherwise it is
   * canonicalised like any other line. `nestedCanonical`: the builder has
   * checked its nested values (then only the top level is checked here).
   */
  sealInPlace(record: { prev: string | null; seq: number; writer: string }, nestedCanonical = false): Sealed {
    record.prev = this.prev;
    record.seq = this.seq;
    record.writer = this.writer;
    const flat = nestedCanonical && topLevelInOrder(record as unknown as Record<string, unknown>);
    return this.finish(flat ? JSON.stringify(record) : fastCanonicalJson(record));
  }

  private finish(canonical: string, unhashed?: (hash: string) => Record<string, string>): Sealed {
    // The one-shot hash: no Hash object per line (about half the cost of createHash for a record).
    const hash = `sha256:${digest('sha256', canonical, 'hex')}`;
    const extra = unhashed
      ? Object.entries(unhashed(hash))
          .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`)
          .join('')
      : '';
    const sealed = { line: `${canonical.slice(0, -1)},"hash":"${hash}"${extra}}\n`, seq: this.seq, hash };
    this.prev = hash;
    this.seq++;
    return sealed;
  }

  /** Where the chain stands: taken before lines are written, restored if the write did not happen. */
  state(): { seq: number; prev: string | null } {
    return { seq: this.seq, prev: this.prev };
  }

  restore(state: { seq: number; prev: string | null }): void {
    this.seq = state.seq;
    this.prev = state.prev;
  }

  /** The hash the next line will name as `prev` (null before the first). */
  get head(): { seq: number; hash: string | null } {
    return { seq: this.seq - 1, hash: this.prev };
  }
}

/** "<replica>@<ISO time>": one chain per process, named so two replicas' files never mix. */
export function writerId(replica: string, startedAt: Date): string {
  return `${replica}@${startedAt.toISOString()}`;
}
