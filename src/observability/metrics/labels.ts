/**
 * Bounded label values. Server names come from the configuration, methods
 * from the routed set, profiles from the configuration, rule ids from the
 * policy files; anything else folds into `other`, so a caller cannot grow the
 * number of series. Principal ids, arguments and raw names never become labels.
 */
import type { MetricsOptions } from './types.js';

const METHODS: ReadonlySet<string> = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
]);

export interface LabelFolding {
  /** A configured server name, else `other` (also for none). */
  server(name: string | undefined): string;
  method(name: string): string;
  /** "" for the whole catalog, a configured profile, else `other`. */
  profile(name: string | undefined): string;
  /** A rule id of the policies in force, else `other`. */
  rule(id: string): string;
}

export function labelFolding(options: Pick<MetricsOptions, 'servers' | 'profiles' | 'ruleIds'>): LabelFolding {
  const known = knownServers(options.servers);
  const profiles = new Set(options.profiles ?? []);
  const rules = knownRules(options.ruleIds);
  return {
    server: (name) => (name && known(name) ? name : 'other'),
    method: (name) => (METHODS.has(name) ? name : 'other'),
    profile: (name) => (name === undefined ? '' : profiles.has(name) ? name : 'other'),
    rule: (id) => (rules().has(id) ? id : 'other'),
  };
}

/** Whether a server is configured; an unknown name re-reads the list, since a config reload may have added it. */
function knownServers(servers: () => Iterable<string>): (name: string) => boolean {
  let current = new Set(servers());
  return (name) => current.has(name) || (current = new Set([...current, ...servers()])).has(name);
}

/** The rule ids in force as a set; rebuilt only when the policies reload (a new list). */
function knownRules(ruleIds: () => readonly string[]): () => ReadonlySet<string> {
  let list: readonly string[] | undefined;
  let set = new Set<string>();
  return () => {
    const now = ruleIds();
    if (now !== list) [list, set] = [now, new Set(now)];
    return set;
  };
}
