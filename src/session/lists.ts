/**
 * The four lists a client sees: the merged catalog, narrowed to the
 * endpoint's view, filtered by policy for this caller, and paginated with the
 * gateway's own cursor. Under `disclosure: "search"` the tool list is the
 * gateway's own find_tools and call_tool plus the pinned tools.
 */
import type { Result, Tool } from '@modelcontextprotocol/server';
import { LRUCache } from 'lru-cache';
import type { Catalog, Routed } from '../catalog/catalog.js';
import { paginate } from '../catalog/paginate.js';
import type { DecisionMaker } from '../pipeline/authorize.js';
import type { Viewer } from '../pipeline/context.js';
import type { ViewKind } from '../pipeline/view.js';
import { visible } from '../pipeline/visible.js';
import { GATEWAY_TOOLS } from './disclosure.js';

const LIST_KEY: Record<string, ViewKind> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};

export function isListMethod(method: string): boolean {
  return method in LIST_KEY;
}

/** The kind of items a list method returns. */
export function listKindOf(method: string): ViewKind {
  return LIST_KEY[method]!;
}

/**
 * A caller's filtered list, kept briefly: a client pages through a large
 * catalog with one request per page, and each would otherwise decide every
 * entry again. An entry is used only while the catalog and the policy in
 * force are the ones it was decided under; conditions on `request.time`
 * may lag by at most the TTL.
 */
const LISTING_TTL_MS = 5_000;
interface Listing {
  catalogVersion: number;
  policy: DecisionMaker;
  items: object[];
}

/** One gateway's cache of filtered lists (owned by the gateway, so two gateways in one process never share one). */
export class Listings {
  private readonly cache = new LRUCache<string, Listing>({ max: 1_000, ttl: LISTING_TTL_MS });

  /** The caller's visible items of a kind, decided again only when the catalog or the policy changed. */
  visible(kind: ViewKind, catalog: Catalog, who: Viewer, policy: DecisionMaker): object[] {
    const key = listingKey(kind, who);
    const hit = this.cache.get(key);
    if (hit && hit.catalogVersion === catalog.version && hit.policy === policy) return hit.items;
    const items = visibleItems(kind, catalog, who, policy);
    this.cache.set(key, { catalogVersion: catalog.version, policy, items });
    return items;
  }
}

/**
 * Who the listing was decided for: the session (2025 era), or the endpoint
 * (stateless requests), and the caller as this request presents it. Each
 * request of a session is decided with its own credential, so a reload that
 * takes a group away, or a token with other scopes or claims, is a new key.
 */
function listingKey(kind: ViewKind, who: Viewer): string {
  const { session, principal } = who;
  const caller = `${principal.id}\u0000${principal.scopes.join(' ')}\u0000${principal.groups.join(' ')}\u0000${JSON.stringify(principal.claims)}`;
  if (session.era === 'legacy') return `s\u0000${session.id}\u0000${caller}\u0000${kind}`;
  return `m\u0000${caller}\u0000${session.transport}\u0000${session.profile ?? ''}\u0000${kind}`;
}

/** `personal`: the caller's own entries from servers that act as each caller (see personal-catalog.ts). */
export function list(
  method: string,
  cursor: unknown,
  catalog: Catalog,
  who: Viewer,
  policy: DecisionMaker,
  listings: Listings,
  personal: Routed<object>[] = [],
): Result {
  const kind = LIST_KEY[method]!;
  const items =
    kind === 'tools' && who.view.disclosure === 'search'
      ? searchModeTools(catalog, who, policy)
      : personal.length > 0
        ? visibleItems(kind, catalog, who, policy, personal)
        : listings.visible(kind, catalog, who, policy);
  const { page, nextCursor } = paginate(items, cursor);
  return nextCursor ? { [kind]: page, nextCursor } : { [kind]: page };
}

/** Every item of a kind this caller may see through this endpoint. */
export function visibleItems(kind: ViewKind, catalog: Catalog, who: Viewer, policy: DecisionMaker, personal: Routed<object>[] = []): object[] {
  const all = personal.length === 0 ? routed(kind, catalog) : [...routed(kind, catalog), ...personal];
  const entries = all.filter((entry) => who.view.shows(kind, entry, exposedOf(kind, entry)));
  return visible(kind, entries, who, policy);
}

function searchModeTools(catalog: Catalog, who: Viewer, policy: DecisionMaker): Tool[] {
  const pinned = who.view.pinned.size === 0 ? [] : (visibleItems('tools', catalog, who, policy) as Tool[]).filter((t) => who.view.pinned.has(t.name));
  return [...GATEWAY_TOOLS, ...pinned];
}

function routed(kind: ViewKind, catalog: Catalog): Routed<object>[] {
  switch (kind) {
    case 'tools':
      return catalog.routedTools();
    case 'prompts':
      return catalog.routedPrompts();
    case 'resources':
      return catalog.routedResources();
    case 'resourceTemplates':
      return catalog.routedResourceTemplates();
  }
}

function exposedOf(kind: ViewKind, entry: Routed<object>): string {
  const item = entry.item as { name?: string; uri?: string; uriTemplate?: string };
  return (kind === 'resources' ? item.uri : kind === 'resourceTemplates' ? item.uriTemplate : item.name) ?? '';
}
