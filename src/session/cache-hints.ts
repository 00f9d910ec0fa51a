/**
 * Cache hints that tell the truth (SEP-2549, 2026-07-28 only): how long a
 * list or a read stays good (`ttlMs`) and whether it is the same for every
 * caller (`cacheScope`). `ttlMs` is the shortest any contributing upstream
 * gave (0 where one gave none), and never past the gateway's own horizon: a
 * policy reload or a list_changed can change what the gateway answers at any
 * time. `public` only when every contributor said so and nothing the gateway
 * does depends on the caller: no rule or setting that tells callers apart
 * applies, no profile narrows the list, no server lists per caller.
 * 2025-era clients get no hint fields (an upstream's pass through nowhere).
 */
import type { Result } from '@modelcontextprotocol/server';
import type { DecisionMaker } from '../pipeline/authorize.js';
import type { Viewer } from '../pipeline/context.js';
import type { ViewKind } from '../pipeline/view.js';
import { cacheHintOf, strictest, type CacheHint } from '../upstream/lists.js';
import type { Upstream } from '../upstream/server.js';

/** The longest a gateway answer may be cached: policy and lists reload within it. */
export const GATEWAY_HORIZON_MS = 30_000;

const LIST_METHOD: Record<ViewKind, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};

/** The hint for a list this caller gets through this endpoint. */
export function listHint(kind: ViewKind, upstreams: readonly Upstream[], who: Viewer, policy: DecisionMaker, personal: boolean): CacheHint {
  const contributors = upstreams.filter((u) => u.state === 'ready' && who.view.hasServer(u.name));
  let hint: CacheHint = { ttlMs: GATEWAY_HORIZON_MS, cacheScope: 'public' };
  for (const upstream of contributors) hint = strictest(hint, upstream.lists.hints?.[kind] ?? { ttlMs: 0, cacheScope: 'private' });
  const alike =
    !personal &&
    !upstreams.some((u) => u.perCaller) &&
    who.view.profile === undefined &&
    who.view.disclosure === 'full' &&
    (policy.listsAlike?.(
      LIST_METHOD[kind],
      contributors.map((u) => u.name),
    ) ??
      false);
  return alike ? hint : { ttlMs: hint.ttlMs, cacheScope: 'private' };
}

/** The hint for a read of one upstream's resource: the upstream's, made no longer or wider than the gateway can vouch for. */
export function readHint(result: Result, upstream: Upstream | undefined, who: Viewer, policy: DecisionMaker): CacheHint {
  const own = cacheHintOf(result as Record<string, unknown>) ?? { ttlMs: 0, cacheScope: 'private' as const };
  const hint = strictest(own, { ttlMs: GATEWAY_HORIZON_MS, cacheScope: 'public' });
  const alike =
    upstream !== undefined && !upstream.perCaller && who.view.profile === undefined && (policy.listsAlike?.('resources/list', [upstream.name]) ?? false);
  return alike ? hint : { ttlMs: hint.ttlMs, cacheScope: 'private' };
}

/** The result as the client's era carries it: the hint set for 2026-07-28, no hint fields for 2025. */
export function withHint(result: Result, era: 'legacy' | 'modern', hint: () => CacheHint): Result {
  const { ttlMs: _ttl, cacheScope: _scope, ...rest } = result as Record<string, unknown>;
  // Only a complete result is cacheable; an input round carries no hint.
  const complete = rest.resultType === undefined || rest.resultType === 'complete';
  return (era === 'modern' && complete ? { ...rest, ...hint() } : rest) as Result;
}
