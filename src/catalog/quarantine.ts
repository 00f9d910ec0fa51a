/**
 * The contract guard's hand in the catalog: a quarantined tool, prompt or
 * template is recorded here instead of being listed, so that a call to it is
 * refused as quarantined (not as unknown), and a resource read through a
 * quarantined template is refused too.
 */
import { UriTemplate } from '@modelcontextprotocol/client';
import type { ContractKind } from '../contracts/contract.js';
import type { ContractReview } from '../contracts/guard.js';
import type { Verdict } from '../contracts/verdict.js';
import type { Upstream } from '../upstream/server.js';

/** An entry held back by the contract guard: not listed, refused on use (TOOL_QUARANTINED). */
export interface Quarantined {
  upstream: Upstream;
  exposed: string;
  verdict: Verdict;
}

export const HELD = Symbol('quarantined');
/** Per item: its verdict (served), HELD (quarantined: recorded, not listed), or undefined (not checked). */
export type Gate = (upstream: Upstream, original: string, exposed: string) => Verdict | typeof HELD | undefined;

/** One rebuild's held-back entries, by exposed name (templates also compiled, to match URIs). */
export class QuarantineTable {
  private readonly byExposed = new Map<string, Quarantined>();
  private templates?: { template: UriTemplate; entry: Quarantined }[];

  constructor(private readonly review?: ContractReview) {}

  /** The gate of one kind: a quarantined item is recorded here instead of entering the catalog's table. */
  gate(kind: ContractKind): Gate | undefined {
    const review = this.review;
    if (!review) return undefined;
    return (upstream, original, exposed) => {
      const verdict = review.verdict(upstream.name, kind, original);
      if (!verdict?.quarantine) return verdict;
      if (!this.byExposed.has(exposed)) this.byExposed.set(exposed, { upstream, exposed, verdict });
      return HELD;
    };
  }

  get(exposed: string): Quarantined | undefined {
    return this.byExposed.get(exposed);
  }

  entries(): Quarantined[] {
    return [...this.byExposed.values()];
  }

  /** A quarantined template of `upstream` that `uri` (original, canonical) matches. */
  templateFor(upstream: Upstream, uri: string): Quarantined | undefined {
    this.templates ??= this.entries().flatMap((entry) => {
      if (entry.verdict.kind !== 'resourceTemplate') return [];
      try {
        return [{ template: new UriTemplate(entry.verdict.name), entry }];
      } catch {
        return [];
      }
    });
    return this.templates.find((q) => q.entry.upstream === upstream && q.template.match(uri))?.entry;
  }
}
