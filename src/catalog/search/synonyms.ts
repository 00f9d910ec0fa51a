/**
 * Tool-domain synonyms a query word expands to (scoring less than the word
 * itself: see query.ts). Built once, from plain words, into stems.
 */
import { stem } from './text.js';

/**
 * Synonym groups, written as plain words; every word of a group expands to the
 * others. `a: b c` lines are one-way (a expands to b and c).
 */
const SYNONYM_GROUPS: readonly string[] = [
  'delete remove erase destroy purge trash rm del',
  'create add new make insert register',
  'list show enumerate display browse ls',
  'get read fetch retrieve view load',
  'file document doc',
  'directory folder dir',
  'search find query lookup look',
  'write save store put',
  'update edit modify change',
  'set: update',
  'issue ticket bug',
  'message msg',
  'repository repo',
  'send post publish',
  'user member person people',
  'email mail inbox',
  'meeting event appointment',
  'kubernetes k8s kube kubectl',
  'database db',
  'stop halt shutdown',
  'start launch boot',
  'restart reboot bounce',
  'error exception crash failure',
  'comment reply',
  'instance vm machine',
  'image picture photo',
  'compress gzip zip',
  'environment env',
  'variable var',
  'config configuration settings',
  'remember memory memorize recall',
  'cancel abort',
  'pr: pull request',
  'mr: merge request',
];

/** stem → stems it expands to (excluding itself). Immutable once built. */
export const SYNONYMS: ReadonlyMap<string, readonly string[]> = buildSynonyms(SYNONYM_GROUPS);

function buildSynonyms(lines: readonly string[]): ReadonlyMap<string, readonly string[]> {
  const map = new Map<string, Set<string>>();
  const add = (from: string, to: string) => {
    if (from === to) return;
    let set = map.get(from);
    if (!set) map.set(from, (set = new Set()));
    set.add(to);
  };
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon >= 0) {
      const from = stem(line.slice(0, colon).trim());
      for (const to of line
        .slice(colon + 1)
        .trim()
        .split(/\s+/))
        add(from, stem(to));
      continue;
    }
    const group = line.split(/\s+/).map(stem);
    for (const a of group) for (const b of group) add(a, b);
  }
  return new Map([...map].map(([k, v]) => [k, [...v]]));
}
