/**
 * Merging one kind of item across upstreams into the catalog's table of
 * exposed names.
 */
import type { Upstream } from '../upstream/server.js';
import type { CatalogConflict, Routed } from './types.js';
import { HELD, type Gate } from './quarantine.js';

export type Table<T> = Map<string, Routed<T>>;

/**
 * Merges one kind across upstreams. The first server in config order keeps a
 * contested name; the others are hidden and the conflict is recorded, never
 * silently shadowed.
 */
export function merge<T extends object>(
  upstreams: readonly Upstream[],
  kind: CatalogConflict['kind'],
  itemsOf: (u: Upstream) => readonly T[],
  nameOf: (item: T) => string,
  expose: (u: Upstream, name: string) => string,
  conflicts: CatalogConflict[],
  isValid: (exposed: string) => boolean = () => true,
  field: string = 'name',
  gate?: Gate,
): Table<T> {
  const table: Table<T> = new Map();
  // A quarantined entry keeps its name: a call to it is refused as
  // quarantined, never routed to another server's entry of the same name.
  const held = new Map<string, string>();
  for (const upstream of upstreams) {
    for (const item of itemsOf(upstream)) {
      const original = nameOf(item);
      if (typeof original !== 'string') continue;
      const exposed = expose(upstream, original);
      if (!isValid(exposed)) {
        conflicts.push({ kind, name: exposed, winner: '', hidden: [upstream.name], reason: 'invalid-name' });
        continue;
      }
      const winner = table.get(exposed)?.upstream.name ?? held.get(exposed);
      if (winner !== undefined) {
        const known = conflicts.find((c) => c.kind === kind && c.name === exposed && c.reason === 'collision');
        if (known) known.hidden.push(upstream.name);
        else conflicts.push({ kind, name: exposed, winner, hidden: [upstream.name], reason: 'collision' });
        continue;
      }
      const verdict = gate?.(upstream, original, exposed);
      if (verdict === HELD) {
        held.set(exposed, upstream.name);
        continue;
      }
      table.set(exposed, { upstream, original, item: { ...item, [field]: exposed }, ...(verdict ? { contract: verdict } : {}) });
    }
  }
  return table;
}
