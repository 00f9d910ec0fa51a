/** The rule ids a policy set's settings decide under (they appear in decisions, audit records and metrics labels). */
import type { PolicySet } from './types.js';

/** Ids of the settings that can decide: read-only servers and groups, allowlist servers, server rate limits. */
export function settingIds(set: PolicySet): string[] {
  const ids: string[] = [];
  for (const [name, s] of Object.entries(set.servers)) {
    if (s.readOnly) ids.push(`servers.${name}.readOnly`);
    if (s.mode === 'allowlist') ids.push(`servers.${name}.mode`);
    if (s.rateLimit?.length) ids.push(`servers.${name}.rateLimit`);
  }
  for (const [name, g] of Object.entries(set.groups)) if (g.readOnly) ids.push(`groups.${name}.readOnly`);
  return ids;
}
