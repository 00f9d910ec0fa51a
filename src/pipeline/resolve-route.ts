/**
 * Finds the upstream and original name behind an exposed name or URI (a URI
 * in its canonical form), and builds the request exactly as it will be
 * forwarded (`ctx.forwarded`): policy, the audit record and forward all use
 * that one object. Runs before policy because policy needs the real server
 * and the tool's annotations; an unknown name, or a shape the gateway cannot
 * decide on, gets the spec's error and touches nothing.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { Quarantined } from '../catalog/catalog.js';
import { toolQuarantined, unknownPrompt, unknownResource, unknownTool, upstreamUnavailable, GatewayError } from '../core/errors.js';
import type { Stage } from './chain.js';
import type { View } from './view.js';
import type { CallContext, Target } from './context.js';
import { plainObject, stringParam, upstreamParams } from './upstream-request.js';

export function resolveRoute(catalog: Catalog): Stage {
  return {
    name: 'resolve-route',
    run(ctx) {
      let target: Target;
      try {
        target = route(catalog, ctx);
      } catch (err) {
        // A held-back entry outside this endpoint's view is unknown here, like any name outside it.
        if (!(err instanceof HeldBack)) throw err;
        if (ctx.view && !inView(catalog, ctx.view, err.target)) throw outsideView(err.target);
        throw quarantined(err.held);
      }
      if (ctx.view && !inView(catalog, ctx.view, target)) throw outsideView(target);
      ctx.target = target;
      ctx.forwarded = upstreamParams(ctx, target, target.upstream.config.forwardMeta);
    },
  };
}

/** The upstream and original name behind a routed request's exposed name or URI; throws UNKNOWN_* or TOOL_QUARANTINED if none. */
export function resolve(catalog: Catalog, ctx: Pick<CallContext, 'method' | 'params'>): Target {
  try {
    return route(catalog, ctx);
  } catch (err) {
    throw err instanceof HeldBack ? quarantined(err.held) : err;
  }
}

/**
 * An entry the contract guard holds back, named by the request: the stage
 * decides between "unknown" (outside the endpoint's view) and TOOL_QUARANTINED.
 */
class HeldBack extends Error {
  constructor(
    readonly held: Quarantined,
    readonly target: Target,
  ) {
    super('held back');
  }
}

function held(entry: Quarantined, exposed: string, kind: Target['kind']): HeldBack {
  return new HeldBack(entry, { upstream: entry.upstream, exposed, original: entry.verdict.name, kind });
}

function route(catalog: Catalog, ctx: Pick<CallContext, 'method' | 'params'>): Target {
  const { params } = ctx;
  switch (ctx.method) {
    case 'tools/call': {
      const name = stringParam(params.name, 'name');
      const routed = catalog.resolveTool(name);
      if (!routed) {
        const perCaller = catalog.resolvePerCaller(name, 'tool');
        if (perCaller) return perCallerTarget(perCaller, name, 'tool');
        throw notListed(catalog, name, unknownTool, 'tool');
      }
      // Decisions rely on approved annotations only (the live ones when contracts are not checked).
      const annotations = routed.contract?.annotations ?? (routed.item.annotations as Record<string, unknown> | undefined);
      return { upstream: routed.upstream, exposed: name, original: routed.original, kind: 'tool', annotations, contract: routed.contract };
    }
    case 'prompts/get': {
      const name = stringParam(params.name, 'name');
      const routed = catalog.resolvePrompt(name);
      if (!routed) {
        const perCaller = catalog.resolvePerCaller(name, 'prompt');
        if (perCaller) return perCallerTarget(perCaller, name, 'prompt');
        throw notListed(catalog, name, unknownPrompt, 'prompt');
      }
      return { upstream: routed.upstream, exposed: name, original: routed.original, kind: 'prompt', contract: routed.contract };
    }
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe': {
      const uri = stringParam(params.uri, 'uri');
      return { ...resourceRoute(catalog, uri), kind: 'resource' };
    }
    case 'completion/complete':
      return resolveCompletion(catalog, params.ref);
  }
}

/**
 * A server that acts as each caller: its contract is the caller's to list, so
 * a call by name is decided on the lock (see ContractGuard.approvedOnly).
 */
function perCallerTarget(perCaller: NonNullable<ReturnType<Catalog['resolvePerCaller']>>, exposed: string, kind: 'tool' | 'prompt'): Target {
  const { upstream, original, contract } = perCaller;
  if (contract?.quarantine) throw held({ upstream, exposed, verdict: contract }, exposed, kind);
  return { upstream, original, exposed, kind, ...(contract ? { contract, annotations: contract.annotations } : {}) };
}

/** Whether the endpoint's view shows the item a target names. */
function inView(catalog: Catalog, view: View, target: Target): boolean {
  if (target.kind === 'tool') return view.shows('tools', catalog.resolveTool(target.exposed) ?? stub(target), target.exposed);
  if (target.kind === 'prompt') return view.shows('prompts', catalog.resolvePrompt(target.exposed) ?? stub(target), target.exposed);
  return view.shows('resources', stub(target), target.exposed) || view.shows('resourceTemplates', stub(target), target.exposed);
}

function stub(target: Target) {
  return { upstream: target.upstream, original: target.original, item: {} };
}

/** Outside the view is the same answer as not existing at all. */
function outsideView(target: Target): GatewayError {
  if (target.kind === 'tool') return unknownTool(target.exposed);
  if (target.kind === 'prompt') return unknownPrompt(target.exposed);
  return unknownResource(target.exposed);
}

/**
 * A name that is not in the catalog: if it carries the prefix of a server
 * that is down, say so (the caller may retry); otherwise it is unknown.
 */
function notListed(catalog: Catalog, name: string, unknown: (name: string) => GatewayError, kind: 'tool' | 'prompt'): Error {
  const entry = catalog.quarantined(name);
  if (entry) return held(entry, name, kind);
  const owner = catalog.serverOfName(name);
  if (owner && owner.state !== 'ready' && owner.state !== 'disabled') return upstreamUnavailable(owner.name, owner.errorClass ?? owner.state);
  return unknown(name);
}

/** A completion is about its ref: a prompt, or a resource template (or resource) by its URI. */
function resolveCompletion(catalog: Catalog, ref: unknown): Target {
  const r = plainObject(ref, 'ref');
  if (r.type === 'ref/prompt') {
    const name = stringParam(r.name, 'ref.name');
    const routed = catalog.resolvePrompt(name);
    if (!routed) throw notListed(catalog, name, unknownPrompt, 'prompt');
    return { upstream: routed.upstream, exposed: name, original: routed.original, kind: 'prompt' };
  }
  if (r.type === 'ref/resource') {
    const uri = stringParam(r.uri, 'ref.uri');
    const template = catalog.resolveTemplate(uri);
    if (template) return { upstream: template.upstream, exposed: uri, original: template.original, kind: 'resource' };
    return { ...resourceRoute(catalog, uri), kind: 'resource' };
  }
  throw new GatewayError('INVALID_PARAMS', 'completion/complete needs a ref of type ref/prompt or ref/resource', { field: 'ref.type' });
}

/**
 * A resource URI's route in canonical form; a URI that cannot be canonicalised is refused (-32602), not passed,
 * and one that only a quarantined template describes is refused as quarantined.
 */
function resourceRoute(catalog: Catalog, uri: string): Omit<Target, 'kind'> {
  const routed = catalog.resolveResource(uri);
  if (!routed) throw unknownResource(uri);
  if ('invalid' in routed) throw new GatewayError('INVALID_PARAMS', `Invalid resource URI: ${routed.invalid}`, { uri, reason: routed.invalid });
  const entry = catalog.quarantinedTemplateFor(routed.upstream, routed.original);
  if (entry) throw new HeldBack(entry, { ...routed, kind: 'resource' });
  return routed;
}

/** TOOL_QUARANTINED with what the client and the operator need: which entry, why, and which fields drifted. */
function quarantined(held: Quarantined): GatewayError {
  const { verdict } = held;
  const reason = verdict.quarantine?.reason ?? 'new';
  return toolQuarantined({ server: verdict.server, kind: verdict.kind, name: verdict.name, exposed: held.exposed, reason, drifted: verdict.drifted });
}
