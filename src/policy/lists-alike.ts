/**
 * Whether every caller sees the same entries of a list from some servers: no
 * rule and no setting that could tell two callers apart applies to them, so
 * a shared cache may keep the list (SEP-2549 `cacheScope: public`). Asked on
 * every list request; the answer depends only on the immutable policy set,
 * so it is kept per (list method, servers).
 */
import { appliesTo, KIND_OF, USE_METHOD } from './evaluation.js';
import type { CompiledRule, PolicySet } from './types.js';

/** Bounds the cache; server sets come from the configuration, list methods from clients. */
const MAX_ENTRIES = 4096;

export class ListsAlike {
  private readonly cache = new Map<string, boolean>();

  constructor(
    private readonly set: PolicySet,
    private readonly enforced: readonly CompiledRule[],
  ) {}

  of(listMethod: string, servers: readonly string[]): boolean {
    const key = `${listMethod}\n${servers.join('\n')}`;
    let alike = this.cache.get(key);
    if (alike !== undefined) return alike;
    alike = this.decide(listMethod, servers);
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(key, alike);
    return alike;
  }

  private decide(listMethod: string, servers: readonly string[]): boolean {
    const use = USE_METHOD[listMethod] ?? listMethod;
    const kind = KIND_OF[use];
    const readOnlyGroup = Object.values(this.set.groups).some((g) => g.readOnly);
    return servers.every((server) => {
      const settings = this.set.servers[server];
      if (settings?.mode === 'allowlist' || settings?.readOnly || (readOnlyGroup && kind === 'tool')) return false;
      return !this.enforced.some((rule) => appliesTo(rule, server, [use, listMethod], kind));
    });
  }
}
