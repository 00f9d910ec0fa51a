/**
 * Names that impersonate other names: `rеad_file` with a Cyrillic `е`
 * against another server's `read_file`, fullwidth `ｒｅａｄ_ｆｉｌｅ`, names
 * mixing Latin with look-alike scripts, and ASCII tricks (`read_fi1e`,
 * `rnail_send`) against another server's tool. An agent picks tools by name,
 * so a look-alike can intercept calls meant for the real one.
 */
import type { Contract } from '../contract.js';
import { ASCII_LOOKALIKE, asciiSkeleton, isAscii, mixesScripts, skeleton } from './confusables.js';
import { approveCommand, type Detector, findingOf, type Finding, type Hit } from './finding.js';
import type { Entry } from './text.js';
import { codePointName, quoted } from './unicode.js';

const NON_ASCII = /[^\x20-\x7E]/gu;
/** How many distinct code points a message lists. */
const LISTED = 4;

export const homoglyphNames: Detector = {
  id: 'homoglyph-name',
  severity: 'high',
  summary:
    'A tool or prompt name with look-alike letters (Cyrillic, Greek, fullwidth) that reads as another entry’s name, or mixes scripts; ASCII 0/1/I/rn look-alikes of another server’s name are medium.',
  scan,
};

function scan(entries: readonly Entry[]): Finding[] {
  // Resource templates are keyed by URI template, not a name an agent calls.
  const named = entries.filter((entry) => entry.contract.kind !== 'resourceTemplate');
  const bySkeleton = new Map<string, Contract[]>();
  for (const { contract } of named) {
    const key = skeleton(contract.name);
    const twins = bySkeleton.get(key);
    if (twins) twins.push(contract);
    else bySkeleton.set(key, [contract]);
  }
  return named.flatMap((entry) => {
    const field = entry.names[0];
    const hit = field && hitFor(entry.contract, bySkeleton.get(skeleton(entry.contract.name)) ?? []);
    return field && hit ? [findingOf(homoglyphNames, entry.contract, field, hit)] : [];
  });
}

/** `twins` share the entry's skeleton (the entry itself among them). */
function hitFor(contract: Contract, twins: readonly Contract[]): Hit | undefined {
  const { name, server } = contract;
  if (!isAscii(name)) {
    const span = spanOf(name, NON_ASCII);
    const chars = listed(name);
    const twin = twins.find((other) => other.name !== name);
    if (twin) return { ...span, message: `The name ${quoted(name)} reads as ${describe(twin)} but contains ${chars}`, fix: impostorFix(contract, twin) };
    if (mixesScripts(name)) return { ...span, message: `The name ${quoted(name)} mixes Latin with look-alike letters (${chars})`, fix: impostorFix(contract) };
    return undefined;
  }
  // Only the name carrying the look-alikes is flagged: its plain twin is the likely original.
  if (asciiSkeleton(name) === name.toLowerCase()) return undefined;
  const twin = twins.find((other) => other.server !== server && other.name !== name && isAscii(other.name));
  if (!twin) return undefined;
  return {
    ...spanOf(name, ASCII_LOOKALIKE),
    severity: 'medium',
    message: `The name ${quoted(name)} reads as ${describe(twin)} (0/o, 1/l, I/l or rn/m look-alikes)`,
    fix: `Check that ${server}'s ${contract.kind} is not impersonating "${twin.name}" on ${twin.server}: if both are genuine, approve with ${approveCommand(contract)}, otherwise remove the server`,
  };
}

function describe(other: Contract): string {
  return `${other.kind} ${quoted(other.name)} on server "${other.server}"`;
}

function impostorFix(contract: Contract, twin?: Contract): string {
  const target = twin ? `calls meant for "${twin.name}"` : 'calls meant for another tool';
  return `Do not approve ${contract.kind} ${quoted(contract.name)}: a look-alike name can capture ${target}; remove the server ${contract.server}, or ask its maintainer for a plain ASCII name`;
}

/** From the first to the end of the last character matching `re` (a global regex). */
function spanOf(name: string, re: RegExp): { start: number; end: number } {
  const matches = Array.from(name.matchAll(re));
  const first = matches[0];
  const last = matches.at(-1);
  return first && last ? { start: first.index, end: last.index + last[0].length } : { start: 0, end: name.length };
}

/** "U+0435, U+043E" for the distinct non-ASCII characters of a name. */
function listed(name: string): string {
  const distinct = [...new Set(Array.from(name.matchAll(NON_ASCII), (match) => match[0]))];
  return distinct.slice(0, LISTED).map(codePointName).join(', ') + (distinct.length > LISTED ? ', …' : '');
}
