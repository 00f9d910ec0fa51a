/**
 * What `switchboard audit replay` reports (replay.ts fills it in): counts,
 * why records were not re-decided, and the requests whose decision changes,
 * grouped by the deciding rules, by principal and by tool, with a few
 * examples each.
 */
import type { ReplayRecord, SkipReason, Unreplayable } from './replay-record.js';

export interface ReplayExample {
  time: string;
  principal: string;
  server: string;
  /** The original (upstream) tool or prompt name, or resource URI. */
  tool: string;
  method: string;
  requestId?: string;
  /** Why it changed (the candidate's reason), or why it could not be re-decided. */
  detail?: string;
}

export interface ReplayGroup {
  count: number;
  examples: ReplayExample[];
}

export interface ChangeReport {
  count: number;
  /** By the candidate rule that decided and the rule that had decided (`(default)`: no rule, `(unknown)`: not recorded). */
  byRule: (ReplayGroup & { rule: string; originalRule: string })[];
  byPrincipal: (ReplayGroup & { principal: string })[];
  byTool: (ReplayGroup & { server: string; tool: string; method: string })[];
}

export interface ReplayReport {
  files: string[];
  counts: {
    /** Non-blank lines read. */
    lines: number;
    /** Records of `type: "audit"` (well-formed). */
    records: number;
    reDecided: number;
    unchanged: number;
    /** Of the unchanged: the same effect decided by another rule. */
    ruleChanged: number;
    newlyDenied: number;
    newlyAllowed: number;
    notReEvaluable: number;
    skipped: number;
    malformed: number;
    /** Lines of another type (audit-start, audit-gap, audit-checkpoint, contract). */
    otherLines: number;
    /** Re-decided records that a rate limit refused after policy allowed them. */
    rateLimited: number;
    /** Records the writer could not keep (audit-gap lines): never seen, never replayed. */
    droppedByWriter: number;
  };
  notReEvaluable: (ReplayGroup & { reason: Unreplayable; label: string })[];
  skipped: { reason: SkipReason; label: string; count: number; codes: Record<string, number> }[];
  malformedLines: { file: string; line: number; reason: string }[];
  newlyDenied: ChangeReport;
  newlyAllowed: ChangeReport;
  notes: string[];
}

/** Newly denied or newly allowed requests, grouped three ways. */
export class Changes {
  private count = 0;
  private readonly byRule = new Map<string, ReplayGroup & { rule: string; originalRule: string }>();
  private readonly byPrincipal = new Map<string, ReplayGroup & { principal: string }>();
  private readonly byTool = new Map<string, ReplayGroup & { server: string; tool: string; method: string }>();

  add(r: ReplayRecord, rule: string, originalRule: string, ex: ReplayExample, keep: number): void {
    this.count++;
    const at = <G extends ReplayGroup>(map: Map<string, G>, key: string, fresh: () => G) => {
      const g = map.get(key) ?? fresh();
      map.set(key, g);
      add(g, ex, keep);
    };
    at(this.byRule, `${rule}\0${originalRule}`, () => ({ rule, originalRule, count: 0, examples: [] }));
    at(this.byPrincipal, r.principal, () => ({ principal: r.principal, count: 0, examples: [] }));
    at(this.byTool, `${ex.server}\0${ex.method}\0${ex.tool}`, () => ({ server: ex.server, tool: ex.tool, method: ex.method, count: 0, examples: [] }));
  }

  report(): ChangeReport {
    return {
      count: this.count,
      byRule: sorted([...this.byRule.values()]),
      byPrincipal: sorted([...this.byPrincipal.values()]),
      byTool: sorted([...this.byTool.values()]),
    };
  }
}

export function add(group: ReplayGroup, ex: ReplayExample, keep: number): void {
  group.count++;
  if (group.examples.length < keep) group.examples.push(ex);
}

export function example(r: ReplayRecord, detail: string): ReplayExample {
  const ex: ReplayExample = { time: r.time, principal: r.principal, server: r.server ?? '', tool: r.original ?? r.name ?? '', method: r.method };
  if (r.requestId !== undefined) ex.requestId = r.requestId;
  if (detail !== '') ex.detail = detail;
  return ex;
}

/** Most first; ties keep their first-seen order (Array.prototype.sort is stable). */
export const sorted = <T extends { count: number }>(groups: T[]): T[] => groups.sort((a, b) => b.count - a.count);
