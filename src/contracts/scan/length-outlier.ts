/**
 * A description far longer than its siblings'. Long text is where payloads
 * hide: a reviewer skims the first lines, the model reads all of it. Low on
 * its own (some tools need long docs), medium past 4,000 characters.
 */
import type { Contract } from '../contract.js';
import { approveCommand, type Detector, type Finding, findingOf, type Hit } from './finding.js';
import type { Entry, TextField } from './text.js';

/** Longer than this is medium whatever the siblings look like. */
const HUGE = 4_000;
/** The sibling rule needs the description to be at least this long, and more than FACTOR × the median. */
const LONG = 1_000;
const FACTOR = 4;
/** The median means something with at least this many other entries of the same server and kind. */
const MIN_SIBLINGS = 3;

export const lengthOutlier: Detector = {
  id: 'length-outlier',
  severity: 'low',
  summary: `A description longer than ${LONG} characters and ${FACTOR}× the median of the same server's entries of its kind (with ${MIN_SIBLINGS}+ siblings); medium past ${HUGE} characters.`,
  scan,
};

interface Group {
  size: number;
  median: number;
}

function scan(entries: readonly Entry[]): Finding[] {
  const groups = groupsOf(entries);
  return entries.flatMap((entry) => {
    const field = entry.texts.find((text) => text.path === 'description');
    const group = groups.get(groupKey(entry.contract));
    const hit = field && group && hitFor(field, group, entry.contract);
    return field && hit ? [findingOf(lengthOutlier, entry.contract, field, hit)] : [];
  });
}

function groupKey(contract: Contract): string {
  return JSON.stringify([contract.server, contract.kind]);
}

/** Per server and kind: how many entries, and the median description length (an entry without one counts as 0). */
function groupsOf(entries: readonly Entry[]): Map<string, Group> {
  const lengths = new Map<string, number[]>();
  for (const entry of entries) {
    const key = groupKey(entry.contract);
    const length = entry.texts.find((text) => text.path === 'description')?.length ?? 0;
    const list = lengths.get(key);
    if (list) list.push(length);
    else lengths.set(key, [length]);
  }
  return new Map(Array.from(lengths, ([key, list]) => [key, { size: list.length, median: median(list) }]));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function hitFor(field: TextField, group: Group, contract: Contract): Hit | undefined {
  const huge = field.length > HUGE;
  const outlier = group.size - 1 >= MIN_SIBLINGS && field.length > LONG && field.length > FACTOR * group.median;
  if (!huge && !outlier) return undefined;
  const compared = outlier ? `, over ${FACTOR}× the median of ${contract.server}'s ${group.size} ${contract.kind} descriptions (${group.median})` : '';
  return {
    start: 0,
    end: field.length,
    severity: huge ? 'medium' : 'low',
    message: `The description is ${field.length} characters long${compared}`,
    fix: `Read the whole description, not its first lines, before approving with ${approveCommand(contract)}; if it hides instructions, remove the server`,
  };
}
