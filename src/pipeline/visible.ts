/**
 * What a caller may see: every list is filtered by the same decision that
 * would authorise a call, so a caller never sees a tool, prompt or resource
 * it may not use. Conditions on arguments cannot be known while listing and
 * count as "may be allowed".
 */
import type { Routed } from '../catalog/catalog.js';
import type { Principal } from '../core/principal.js';
import type { DecisionInput } from '../policy/types.js';
import type { DecisionMaker } from './authorize.js';
import type { SessionInfo } from './context.js';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

/**
 * A list entry is decided as its list method: the engine decides it as the
 * request that would use it, and a rule naming either method (`methods:
 * [tools/list]` hides tools without refusing calls) applies.
 */
const METHOD_OF: Record<ListKind, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};

export function visible<T extends object>(
  kind: ListKind,
  entries: readonly Routed<T>[],
  who: { principal: Principal; session: SessionInfo },
  policy: DecisionMaker,
): T[] {
  const time = new Date();
  return entries.filter((entry) => policy.decide(listingInput(kind, entry, who, time), { listing: true }).allowed).map((entry) => entry.item);
}

/** The decision input for one list entry, as a caller's list is filtered (also what the console explains). */
export function listingInput<T extends object>(
  kind: ListKind,
  entry: Routed<T>,
  who: { principal: Principal; session: SessionInfo },
  time: Date,
): DecisionInput {
  const input: DecisionInput = {
    principal: who.principal,
    method: METHOD_OF[kind],
    server: { name: entry.upstream.name, transport: entry.upstream.config.spec.type },
    request: { time, transport: who.session.transport, sessionId: who.session.id, ...(who.session.profile ? { profile: who.session.profile } : {}) },
  };
  if (kind === 'tools') {
    const annotations = (entry.item as { annotations?: Record<string, unknown> }).annotations ?? {};
    input.tool = { name: entry.original, annotations };
  } else if (kind === 'prompts') input.prompt = { name: entry.original };
  else input.resource = { uri: entry.original };
  return input;
}
