/**
 * The policy decision for one request before it is handed to the MCP
 * transport, while the HTTP status can still be chosen: a request that lacks
 * only scopes is answered 403 `insufficient_scope`, so an OAuth client can
 * step up. Everything else is left to the pipeline, which decides again.
 */
import type { Principal } from '../core/principal.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Decision } from '../policy/types.js';
import { decisionInput, type DecisionMaker } from './authorize.js';
import type { CallContext, RoutedMethod, SessionInfo } from './context.js';
import { resolve } from './resolve-route.js';
import { upstreamParams } from './upstream-request.js';

const CHECKED = new Set<string>(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe']);

export function scopeShortfall(
  catalog: Catalog,
  policy: DecisionMaker,
  who: { principal: Principal; session: SessionInfo },
  message: unknown,
): Decision | undefined {
  const m = message as { method?: unknown; params?: unknown } | undefined;
  if (!m || typeof m.method !== 'string' || !CHECKED.has(m.method)) return undefined;
  const params = (m.params && typeof m.params === 'object' ? m.params : {}) as Record<string, unknown>;
  const ctx = { method: m.method as RoutedMethod, params, principal: who.principal, session: who.session } as CallContext;
  try {
    ctx.target = resolve(catalog, ctx);
    ctx.forwarded = upstreamParams(ctx, ctx.target, ctx.target.upstream.config.forwardMeta);
  } catch {
    return undefined; // the pipeline answers unknown names and bad shapes
  }
  const decision = policy.decide(decisionInput(ctx));
  return decision.code === 'INSUFFICIENT_SCOPE' ? decision : undefined;
}
