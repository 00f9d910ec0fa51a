/**
 * The merged view of every ready upstream's tools, prompts, resources and
 * resource templates under their exposed names, and the reverse lookup that
 * routes a call back to its upstream with the original name or URI.
 * Rebuilt whenever an upstream's lists or state change; lookups are map hits.
 */
import { UriTemplate, type Prompt, type Resource, type ResourceTemplateType, type Tool } from '@modelcontextprotocol/client';
import type { Upstream } from '../upstream/server.js';
import { exposeName, exposeUri, isValidToolName, splitUri } from './names.js';
import { canonicalUri } from './uri.js';

export interface Routed<T> {
  upstream: Upstream;
  /** The name or URI the upstream knows it by. */
  original: string;
  /** The item as exposed to clients (renamed). */
  item: T;
}

export interface CatalogConflict {
  kind: 'tool' | 'prompt' | 'resource' | 'resourceTemplate';
  name: string;
  /** Which server's item is exposed; the others are hidden. */
  winner: string;
  hidden: string[];
  reason: 'collision' | 'invalid-name';
}

export interface CatalogEntry {
  kind: 'tool' | 'prompt' | 'resource' | 'resourceTemplate';
  server: string;
  exposed: string;
  original: string;
  readOnly?: boolean;
}

type Table<T> = Map<string, Routed<T>>;

/** Where a resource URI goes: both strings canonical. */
export interface ResourceRoute {
  upstream: Upstream;
  original: string;
  exposed: string;
}

export class Catalog {
  private tools: Table<Tool> = new Map();
  private prompts: Table<Prompt> = new Map();
  private resources: Table<Resource> = new Map();
  private templates: Table<ResourceTemplateType> = new Map();
  private compiledTemplates: { template: UriTemplate; routed: Routed<ResourceTemplateType> }[] = [];
  /** Prefixes lower-cased: the prefix is part of an exposed URI's scheme, which is case-insensitive. */
  private byPrefix = new Map<string, Upstream>();
  private prefixesLower = new Set<string>();
  conflicts: CatalogConflict[] = [];
  /** Increments on every rebuild; sessions compare it to know what changed. */
  version = 0;

  constructor(
    private readonly upstreams: readonly Upstream[],
    private readonly separator: string,
  ) {
    this.rebuild();
  }

  /** Recomputes every table from the upstreams that are ready, in config order. */
  rebuild(): void {
    const conflicts: CatalogConflict[] = [];
    const ready = this.upstreams.filter((u) => u.state === 'ready');
    const rename = (u: Upstream, name: string) => exposeName(u.config.prefix, name, this.separator);
    const reuri = (u: Upstream, uri: string) => exposeUri(u.config.prefix, uri);
    this.tools = merge(
      ready,
      'tool',
      (u) => u.lists.tools,
      (t) => t.name,
      rename,
      conflicts,
      isValidToolName,
    );
    this.prompts = merge(
      ready,
      'prompt',
      (u) => u.lists.prompts,
      (p) => p.name,
      rename,
      conflicts,
    );
    this.resources = merge(
      ready,
      'resource',
      (u) => u.lists.resources,
      (r) => r.uri,
      reuri,
      conflicts,
      undefined,
      'uri',
    );
    this.templates = merge(
      ready,
      'resourceTemplate',
      (u) => u.lists.resourceTemplates,
      (t) => t.uriTemplate,
      reuri,
      conflicts,
      undefined,
      'uriTemplate',
    );
    this.compiledTemplates = [...this.templates.values()].flatMap((routed) => {
      try {
        return [{ template: new UriTemplate(routed.original), routed }];
      } catch {
        return [];
      }
    });
    this.byPrefix = new Map(this.upstreams.filter((u) => u.config.prefix !== '').map((u) => [u.config.prefix.toLowerCase(), u]));
    this.prefixesLower = new Set(this.byPrefix.keys());
    this.conflicts = conflicts;
    this.version++;
  }

  listTools(): Tool[] {
    return [...this.tools.values()].map((r) => r.item);
  }
  listPrompts(): Prompt[] {
    return [...this.prompts.values()].map((r) => r.item);
  }
  listResources(): Resource[] {
    return [...this.resources.values()].map((r) => r.item);
  }
  listResourceTemplates(): ResourceTemplateType[] {
    return [...this.templates.values()].map((r) => r.item);
  }

  /** The routed entries behind each list, for filtering by policy. */
  routedTools(): Routed<Tool>[] {
    return [...this.tools.values()];
  }
  routedPrompts(): Routed<Prompt>[] {
    return [...this.prompts.values()];
  }
  routedResources(): Routed<Resource>[] {
    return [...this.resources.values()];
  }
  routedResourceTemplates(): Routed<ResourceTemplateType>[] {
    return [...this.templates.values()];
  }

  resolveTool(name: string): Routed<Tool> | undefined {
    return this.tools.get(name);
  }
  resolvePrompt(name: string): Routed<Prompt> | undefined {
    return this.prompts.get(name);
  }
  resolveTemplate(uriTemplate: string): Routed<ResourceTemplateType> | undefined {
    return this.templates.get(uriTemplate);
  }

  /**
   * Routes a resource URI in its canonical form (see uri.ts): the server
   * whose prefix it carries (matched without regard to case, like a URI
   * scheme), else a listed resource, a template of an unprefixed server that
   * matches, or the only unprefixed server. `original` and `exposed` are the
   * canonical strings every later step decides on and forwards; `invalid`
   * says why a URI cannot be decided on.
   */
  resolveResource(uri: string): ResourceRoute | { invalid: string } | undefined {
    const split = splitUri(uri, this.prefixesLower);
    if (split) {
      const upstream = this.byPrefix.get(split.prefix)!;
      const inner = canonicalUri(split.uri);
      if (!inner.ok) return { invalid: inner.reason };
      return { upstream, original: inner.uri, exposed: exposeUri(upstream.config.prefix, inner.uri) };
    }
    const whole = canonicalUri(uri);
    if (!whole.ok) return { invalid: whole.reason };
    const canonical = whole.uri;
    const listed = this.resources.get(canonical);
    if (listed && listed.upstream.config.prefix === '') return { upstream: listed.upstream, original: canonical, exposed: canonical };
    for (const { template, routed } of this.compiledTemplates) {
      if (routed.upstream.config.prefix === '' && template.match(canonical)) return { upstream: routed.upstream, original: canonical, exposed: canonical };
    }
    const unprefixed = this.upstreams.filter((u) => u.config.prefix === '' && u.state === 'ready');
    return unprefixed.length === 1 ? { upstream: unprefixed[0]!, original: canonical, exposed: canonical } : undefined;
  }

  /**
   * A tool or prompt of a server that acts as each caller: its catalog is per
   * caller, so the name is routed by its prefix alone (the upstream says
   * whether this caller has such a tool).
   */
  resolvePerCaller(name: string): { upstream: Upstream; original: string } | undefined {
    const owner = this.serverOfName(name);
    if (!owner?.perCaller || owner.state !== 'ready') return undefined;
    return { upstream: owner, original: name.slice(owner.config.prefix.length + this.separator.length) };
  }

  /** The server whose prefix an exposed tool or prompt name carries, ready or not. */
  serverOfName(name: string): Upstream | undefined {
    return this.upstreams.find((u) => u.config.prefix !== '' && name.startsWith(`${u.config.prefix}${this.separator}`));
  }

  /** Every exposed item with its server and original name (for `switchboard catalog`). */
  entries(): CatalogEntry[] {
    const rows = (kind: CatalogEntry['kind'], table: Table<unknown>) =>
      [...table].map(([exposed, r]) => ({ kind, server: r.upstream.name, exposed, original: r.original }));
    return [
      ...[...this.tools].map(([exposed, r]) => ({
        kind: 'tool' as const,
        server: r.upstream.name,
        exposed,
        original: r.original,
        readOnly: r.item.annotations?.readOnlyHint === true,
      })),
      ...rows('prompt', this.prompts),
      ...rows('resource', this.resources),
      ...rows('resourceTemplate', this.templates),
    ];
  }

  /** How many items each server contributes, per kind (for status and metrics). */
  counts(): Record<string, { tools: number; prompts: number; resources: number; resourceTemplates: number }> {
    const out: Record<string, { tools: number; prompts: number; resources: number; resourceTemplates: number }> = {};
    for (const u of this.upstreams) out[u.name] = { tools: 0, prompts: 0, resources: 0, resourceTemplates: 0 };
    const count = (table: Table<unknown>, key: 'tools' | 'prompts' | 'resources' | 'resourceTemplates') => {
      for (const r of table.values()) out[r.upstream.name]![key]++;
    };
    count(this.tools, 'tools');
    count(this.prompts, 'prompts');
    count(this.resources, 'resources');
    count(this.templates, 'resourceTemplates');
    return out;
  }
}

/**
 * Merges one kind across upstreams. The first server in config order keeps a
 * contested name; the others are hidden and the conflict is recorded, never
 * silently shadowed.
 */
function merge<T extends object>(
  upstreams: readonly Upstream[],
  kind: CatalogConflict['kind'],
  itemsOf: (u: Upstream) => readonly T[],
  nameOf: (item: T) => string,
  expose: (u: Upstream, name: string) => string,
  conflicts: CatalogConflict[],
  isValid: (exposed: string) => boolean = () => true,
  field: string = 'name',
): Table<T> {
  const table: Table<T> = new Map();
  for (const upstream of upstreams) {
    for (const item of itemsOf(upstream)) {
      const original = nameOf(item);
      if (typeof original !== 'string') continue;
      const exposed = expose(upstream, original);
      if (!isValid(exposed)) {
        conflicts.push({ kind, name: exposed, winner: '', hidden: [upstream.name], reason: 'invalid-name' });
        continue;
      }
      const existing = table.get(exposed);
      if (existing) {
        const known = conflicts.find((c) => c.kind === kind && c.name === exposed && c.reason === 'collision');
        if (known) known.hidden.push(upstream.name);
        else conflicts.push({ kind, name: exposed, winner: existing.upstream.name, hidden: [upstream.name], reason: 'collision' });
        continue;
      }
      table.set(exposed, { upstream, original, item: { ...item, [field]: exposed } });
    }
  }
  return table;
}
