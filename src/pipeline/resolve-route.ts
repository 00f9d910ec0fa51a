/**
 * Finds the upstream and original name behind an exposed name or URI. Runs
 * before policy because policy needs the real server and the tool's
 * annotations; an unknown name gets the spec's error and touches nothing.
 */
import type { Catalog } from '../catalog/catalog.js';
import { unknownPrompt, unknownResource, unknownTool, GatewayError } from '../errors.js';
import type { Stage } from './chain.js';
import type { CallContext, Target } from './context.js';

export function resolveRoute(catalog: Catalog): Stage {
  return {
    name: 'resolve-route',
    run(ctx) {
      ctx.target = resolve(catalog, ctx);
    },
  };
}

function resolve(catalog: Catalog, ctx: CallContext): Target {
  const { params } = ctx;
  switch (ctx.method) {
    case 'tools/call': {
      const name = String(params.name ?? '');
      const routed = catalog.resolveTool(name);
      if (!routed) throw unknownTool(name);
      return { upstream: routed.upstream, exposed: name, original: routed.original };
    }
    case 'prompts/get': {
      const name = String(params.name ?? '');
      const routed = catalog.resolvePrompt(name);
      if (!routed) throw unknownPrompt(name);
      return { upstream: routed.upstream, exposed: name, original: routed.original };
    }
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe': {
      const uri = String(params.uri ?? '');
      const routed = catalog.resolveResource(uri);
      if (!routed) throw unknownResource(uri);
      return { upstream: routed.upstream, exposed: uri, original: routed.original };
    }
    case 'completion/complete':
      return resolveCompletion(catalog, params.ref);
  }
}

function resolveCompletion(catalog: Catalog, ref: unknown): Target {
  const r = (ref ?? {}) as { type?: string; name?: string; uri?: string };
  if (r.type === 'ref/prompt') {
    const name = String(r.name ?? '');
    const routed = catalog.resolvePrompt(name);
    if (!routed) throw unknownPrompt(name);
    return { upstream: routed.upstream, exposed: name, original: routed.original };
  }
  if (r.type === 'ref/resource') {
    const uri = String(r.uri ?? '');
    const routed = catalog.resolveTemplate(uri) ?? catalog.resolveResource(uri);
    if (!routed) throw unknownResource(uri);
    return { upstream: routed.upstream, exposed: uri, original: routed.original };
  }
  throw new GatewayError('UNKNOWN_PROMPT', 'completion/complete needs a ref of type ref/prompt or ref/resource');
}
