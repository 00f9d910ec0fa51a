/**
 * What a server that acts as each caller (credentials "user-oauth" or
 * "token-exchange") offers this caller: its lists as the upstream answers
 * them on the caller's own connection, renamed like the rest of the catalog.
 * A caller with no credential for such a server sees nothing of it (calling
 * one of its tools asks them to connect their account). Connections, and so
 * these lists, are bounded and idle ones are closed (see upstream/pool.ts).
 */
import type { Routed } from '../catalog/catalog.js';
import type { ContractReview } from '../contracts/guard.js';
import { exposeName, exposeUri } from '../catalog/names.js';
import type { Logger } from '../observability/log.js';
import type { ViewKind } from '../pipeline/view.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { Upstream } from '../upstream/server.js';

export interface PersonalCatalogDeps {
  upstreams: readonly Upstream[];
  pool: ConnectionPool;
  separator: string;
  /** Whether the caller holds a credential for the server (without contacting the upstream). */
  hasCredential: (principal: string, server: Upstream['config']) => Promise<boolean>;
  log: Logger;
  /** Judges one caller's lists against the lock and the lint (absent: contracts are not checked). */
  contracts?: (upstream: Upstream, lists: Upstream['lists']) => ContractReview;
}

export async function personalEntries(deps: PersonalCatalogDeps, kind: ViewKind, principal: string): Promise<Routed<object>[]> {
  const servers = deps.upstreams.filter((u) => u.perCaller && u.state === 'ready');
  if (servers.length === 0) return [];
  const perServer = await Promise.all(servers.map((u) => entriesOf(deps, u, kind, principal)));
  return perServer.flat();
}

async function entriesOf(deps: PersonalCatalogDeps, shared: Upstream, kind: ViewKind, principal: string): Promise<Routed<object>[]> {
  try {
    let pending = deps.pool.openCallerConnection(shared, principal);
    if (!pending) {
      if (!(await deps.hasCredential(principal, shared.config))) return [];
      pending = deps.pool.callerConnection(shared, principal);
    }
    const connection = await pending;
    const entries = rename(connection.lists[kind] as object[], kind, shared, deps.separator);
    return deps.contracts ? approvedOnly(entries, kind, deps.contracts(shared, connection.lists)) : entries;
  } catch (err) {
    deps.log.debug('personal catalog unavailable', { server: shared.name, error: err instanceof Error ? err.message : String(err) });
    return [];
  }
}

function rename(items: object[], kind: ViewKind, upstream: Upstream, separator: string): Routed<object>[] {
  const prefix = upstream.config.prefix;
  return items.flatMap((item): Routed<object>[] => {
    const i = item as { name?: unknown; uri?: unknown; uriTemplate?: unknown };
    if (kind === 'resources' && typeof i.uri === 'string') return [{ upstream, original: i.uri, item: { ...item, uri: exposeUri(prefix, i.uri) } }];
    if (kind === 'resourceTemplates' && typeof i.uriTemplate === 'string')
      return [{ upstream, original: i.uriTemplate, item: { ...item, uriTemplate: exposeUri(prefix, i.uriTemplate) } }];
    if ((kind === 'tools' || kind === 'prompts') && typeof i.name === 'string')
      return [{ upstream, original: i.name, item: { ...item, name: exposeName(prefix, i.name, separator) } }];
    return [];
  });
}

const CONTRACT_KIND = { tools: 'tool', prompts: 'prompt', resourceTemplates: 'resourceTemplate' } as const;

/** The caller's entries without those the contract guard holds back; each with its verdict. */
function approvedOnly(entries: Routed<object>[], kind: ViewKind, review: ContractReview): Routed<object>[] {
  if (kind === 'resources') return entries;
  return entries.flatMap((entry) => {
    const verdict = review.verdict(entry.upstream.name, CONTRACT_KIND[kind], entry.original);
    if (verdict?.quarantine) return [];
    return [verdict ? { ...entry, contract: verdict } : entry];
  });
}
