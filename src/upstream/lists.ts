/**
 * What an upstream offers (tools, resources, resource templates, prompts):
 * drained page by page, and refreshed after list_changed without letting a
 * burst of announcements cost a burst of re-lists.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Client, Prompt, Resource, ResourceTemplateType, ServerCapabilities, Tool } from '@modelcontextprotocol/client';
import { z } from 'zod';

export type ListKind = 'tools' | 'resources' | 'resourceTemplates' | 'prompts';

export interface UpstreamLists {
  tools: Tool[];
  resources: Resource[];
  resourceTemplates: ResourceTemplateType[];
  prompts: Prompt[];
  /** What the upstream said about caching each list (2026-07-28, SEP-2549); absent where it said nothing. */
  hints?: Partial<Record<ListKind, CacheHint>>;
}

/** A result's cache hint: how long it stays good, and whether it is the same for every caller. */
export interface CacheHint {
  ttlMs: number;
  cacheScope: 'public' | 'private';
}

const Loose = z.looseObject({});
const LIST_METHODS: Record<ListKind, { method: string; key: string; capability: keyof ServerCapabilities }> = {
  tools: { method: 'tools/list', key: 'tools', capability: 'tools' },
  resources: { method: 'resources/list', key: 'resources', capability: 'resources' },
  resourceTemplates: { method: 'resources/templates/list', key: 'resourceTemplates', capability: 'resources' },
  prompts: { method: 'prompts/list', key: 'prompts', capability: 'prompts' },
};
export const LIST_KINDS = Object.keys(LIST_METHODS) as ListKind[];
const MAX_LIST_PAGES = 100;
/**
 * A list refresh waits this long after a list_changed, so that the rest of a
 * burst (which arrives over a few reads) is covered by the same re-list; also
 * the least time between two re-lists of a server that never stops announcing.
 */
const LIST_REFRESH_DELAY_MS = 25;

export function emptyLists(): UpstreamLists {
  return { tools: [], resources: [], resourceTemplates: [], prompts: [], hints: {} };
}

/** `lists` with `kinds` listed afresh (empty where the server lacks the capability). */
export async function fetchLists(client: Client, kinds: ListKind[], lists: UpstreamLists): Promise<UpstreamLists> {
  const fresh = { ...lists, hints: { ...lists.hints } as Partial<Record<ListKind, CacheHint>> };
  const caps = client.getServerCapabilities() ?? {};
  await Promise.all(
    kinds.map(async (kind) => {
      const { method, key, capability } = LIST_METHODS[kind];
      const drained = caps[capability] ? await drain(client, method, key) : { items: [], hint: undefined };
      (fresh as unknown as Record<ListKind, unknown[]>)[kind] = drained.items;
      if (drained.hint) fresh.hints[kind] = drained.hint;
      else delete fresh.hints[kind];
    }),
  );
  return fresh;
}

/** Every page of a list; the hint is the strictest of the pages' (absent if any page gave none). */
async function drain(client: Client, method: string, key: string): Promise<{ items: unknown[]; hint: CacheHint | undefined }> {
  const items: unknown[] = [];
  let hint: CacheHint | undefined;
  let hinted = true;
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const result = (await client.request({ method, params: cursor ? { cursor } : {} } as { method: 'tools/list' }, Loose)) as Record<string, unknown>;
    const batch = result[key];
    if (Array.isArray(batch)) items.push(...batch);
    const own = cacheHintOf(result);
    hinted &&= own !== undefined;
    if (own) hint = hint ? strictest(hint, own) : own;
    cursor = typeof result.nextCursor === 'string' && result.nextCursor ? result.nextCursor : undefined;
    if (!cursor) break;
  }
  return { items, hint: hinted ? hint : undefined };
}

/** The hint a result carries, if both its fields are valid. */
export function cacheHintOf(result: Record<string, unknown>): CacheHint | undefined {
  const { ttlMs, cacheScope } = result;
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 0) return undefined;
  if (cacheScope !== 'public' && cacheScope !== 'private') return undefined;
  return { ttlMs, cacheScope };
}

/** The shorter lifetime, and public only if both are. */
export function strictest(a: CacheHint, b: CacheHint): CacheHint {
  return { ttlMs: Math.min(a.ttlMs, b.ttlMs), cacheScope: a.cacheScope === 'public' && b.cacheScope === 'public' ? 'public' : 'private' };
}

/**
 * A burst of list_changed costs at most one refresh in flight and one more
 * after it, per kind: the one after starts once the current ends, so it sees
 * every change announced meanwhile (2,000 notifications used to mean 2,000
 * full re-lists, all at once). Each starts LIST_REFRESH_DELAY_MS after it was
 * asked for.
 */
export class ListRefresher {
  /** The refresh running per kind, and whether another change was announced while it ran. */
  private readonly running = new Map<ListKind, { again: boolean }>();

  constructor(
    private readonly refresh: (kind: ListKind) => Promise<void>,
    private readonly stopped: () => boolean,
  ) {}

  soon(kind: ListKind): void {
    const running = this.running.get(kind);
    if (running) return void (running.again = true);
    const mine = { again: false };
    this.running.set(kind, mine);
    void (async () => {
      try {
        do {
          await delay(LIST_REFRESH_DELAY_MS, undefined, { ref: false });
          mine.again = false;
          await this.refresh(kind);
        } while (mine.again && !this.stopped());
      } finally {
        this.running.delete(kind);
      }
    })();
  }
}
