/**
 * The poisoning lint: deterministic checks over the contracts of tools,
 * prompts and resource templates for text that attacks the agent reading it
 * (hidden instructions, invisible characters, look-alike names, references to
 * other servers' tools, exfiltration wording, suspiciously long text). It
 * never calls a model and never changes anything: it reports findings, each
 * with where the text is, an excerpt and what the operator should do.
 */
import type { Contract } from '../contract.js';
import { crossReferences } from './cross-references.js';
import { exfiltration } from './exfiltration.js';
import { compareFindings, type Detector, type DetectorInfo, type Finding } from './finding.js';
import { hiddenInstruction } from './hidden-instruction.js';
import { homoglyphNames } from './homoglyph-names.js';
import { invisibleCharacters } from './invisible-characters.js';
import { lengthOutlier } from './length-outlier.js';
import { entryOf } from './text.js';

export type { ContractKind } from '../contract.js';
export type { DetectorInfo, Finding, Severity } from './finding.js';

const ALL: readonly Detector[] = [hiddenInstruction, invisibleCharacters, homoglyphNames, crossReferences, exfiltration, lengthOutlier];

/** Every detector's id, base severity and one-line summary, for docs and tests. */
export const DETECTORS: readonly DetectorInfo[] = Object.freeze(ALL.map(({ id, severity, summary }) => Object.freeze({ id, severity, summary })));

/** All findings over these contracts, ordered by server, kind, name, field and start offset. */
export function scanContracts(contracts: readonly Contract[]): Finding[] {
  const entries = contracts.map(entryOf);
  const byId = new Map<string, Finding>();
  // Ids are unique by construction; the map only guarantees it if two patterns ever land on one offset.
  for (const finding of ALL.flatMap((detector) => detector.scan(entries))) if (!byId.has(finding.id)) byId.set(finding.id, finding);
  return [...byId.values()].sort(compareFindings);
}
