/**
 * A contract: the fields of a tool, prompt or resource template that an agent
 * reads and acts on, and that a reviewer approves. Its hash is SHA-256 over
 * the fields' canonical JSON (JCS, RFC 8785), so key order and whitespace do
 * not change it, and any change of text, schema or annotation does.
 */
import { canonicalHash } from '../infra/canonical.js';

export type ContractKind = 'tool' | 'prompt' | 'resourceTemplate';

/** The fields a contract covers, per kind (what `switchboard.lock` records). */
export const CONTRACT_FIELDS: Record<ContractKind, readonly string[]> = {
  tool: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  prompt: ['name', 'title', 'description', 'arguments'],
  resourceTemplate: ['uriTemplate', 'name', 'title', 'description', 'mimeType', 'annotations'],
};

/** One entry as its upstream lists it (original name), with only the covered fields. */
export interface Contract {
  kind: ContractKind;
  server: string;
  /** The name the upstream knows it by (for a template: its URI template). */
  name: string;
  fields: Record<string, unknown>;
}

/** The key an entry is pinned under: the name for tools and prompts, the URI template for templates. */
export function keyOf(kind: ContractKind, item: Record<string, unknown>): string | undefined {
  const key = kind === 'resourceTemplate' ? item.uriTemplate : item.name;
  return typeof key === 'string' ? key : undefined;
}

/** The covered fields of a listed item; a field the item lacks is absent (not null), so adding it later is a change. */
export function contractOf(kind: ContractKind, server: string, item: Record<string, unknown>): Contract | undefined {
  const name = keyOf(kind, item);
  if (name === undefined) return undefined;
  const fields: Record<string, unknown> = {};
  for (const field of CONTRACT_FIELDS[kind]) if (item[field] !== undefined) fields[field] = item[field];
  return { kind, server, name, fields };
}

/** `sha256:<hex>` over the canonical JSON of the covered fields. */
export function hashFields(fields: Record<string, unknown>): string {
  return canonicalHash(fields);
}
