/**
 * The merged view of every ready upstream's tools, prompts, resources and
 * resource templates under their exposed names, and the reverse lookup that
 * routes a call back to its upstream with the original name or URI.
 * Rebuilt whenever an upstream's lists or state change; lookups are map hits.
 */
import { UriTemplate, type Prompt, type Resource, type ResourceTemplateType, type Tool } from '@modelcontextprotocol/client';
import type { ContractGuard, ContractReview } from '../contracts/guard.js';
import type { Verdict } from '../contracts/verdict.js';
import type { Upstream } from '../upstream/server.js';
import { exposeName, exposeUri, isValidToolName, splitUri } from './names.js';
import { withExposedUiUri } from './ui-resources.js';
import { merge, type Table } from './merge.js';
import { QuarantineTable, type Quarantined } from './quarantine.js';
import { canonicalUri } from './uri.js';

export type { Quarantined } from './quarantine.js';
export type { CatalogConflict, Routed } from './types.js';
import type { CatalogConflict, Routed } from './types.js';

export interface CatalogEntry {
  kind: 'tool' | 'prompt' | 'resource' | 'resourceTemplate';
  server: string;
  exposed: string;
  original: string;
  readOnly?: boolean;
}

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
  private quarantine = new QuarantineTable();
  conflicts: CatalogConflict[] = [];
  /** The last contract review (undefined without a guard). */
  review?: ContractReview;
  /** Increments on every rebuild; sessions compare it to know what changed. */
  version = 0;

  constructor(
    private readonly upstreams: readonly Upstream[],
    private readonly separator: string,
    /** Checks every entry's contract on each rebuild (pinning, the lint); absent when both are off. */
    private readonly guard?: ContractGuard,
  ) {
    this.rebuild();
  }

  /** Recomputes every table from the upstreams that are ready, in config order. */
  rebuild(): void {
    const conflicts: CatalogConflict[] = [];
    const ready = this.upstreams.filter((u) => u.state === 'ready');
    const review = this.guard?.review(ready.map((u) => ({ server: u.name, pinning: u.config.pinning, lists: u.lists })));
    const quarantine = new QuarantineTable(review);
    const rename = (u: Upstream, name: string) => exposeName(u.config.prefix, name, this.separator);
    const reuri = (u: Upstream, uri: string) => exposeUri(u.config.prefix, uri);
    this.tools = merge(
      ready,
      'tool',
      (u) => u.lists.tools.map((t) => withExposedUiUri(t, u.config.prefix)),
      (t) => t.name,
      rename,
      conflicts,
      isValidToolName,
      'name',
      quarantine.gate('tool'),
    );
    this.prompts = merge(
      ready,
      'prompt',
      (u) => u.lists.prompts,
      (p) => p.name,
      rename,
      conflicts,
      undefined,
      'name',
      quarantine.gate('prompt'),
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
      quarantine.gate('resourceTemplate'),
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
    this.review = review;
    this.quarantine = quarantine;
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

  /** The quarantined tool, prompt or template behind an exposed name or URI template. */
  quarantined(exposed: string): Quarantined | undefined {
    return this.quarantine.get(exposed);
  }

  /** A quarantined template of `upstream` that the (original, canonical) URI matches: reading it would use the held-back contract. */
  quarantinedTemplateFor(upstream: Upstream, uri: string): Quarantined | undefined {
    return this.quarantine.templateFor(upstream, uri);
  }

  /** Every held-back entry (for /readyz, metrics and the catalog command). */
  quarantinedEntries(): Quarantined[] {
    return this.quarantine.entries();
  }

  /** The held-back entries as rows (for `switchboard catalog` and the console): names and why, never descriptions. */
  quarantinedRows(): { kind: string; server: string; exposed: string; original: string; reason?: string; drifted: string[] }[] {
    return this.quarantine.entries().map(({ exposed, verdict: v }) => ({
      kind: v.kind,
      server: v.server,
      exposed,
      original: v.name,
      reason: v.quarantine?.reason,
      drifted: v.drifted,
    }));
  }

  /** The guard's argument check for a tool's verdict (undefined: nothing to validate). */
  argumentCheck(verdict: Verdict) {
    return this.guard?.argumentCheck(verdict);
  }

  /** Whether arguments are validated, and what a failure does. */
  get argumentValidation(): 'off' | 'warn' | 'enforce' {
    return this.guard?.validation ?? 'off';
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
      // A disabled server serves nothing: its URIs are unknown, like its names.
      if (upstream.state === 'disabled') return undefined;
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
  resolvePerCaller(name: string, kind: 'tool' | 'prompt'): { upstream: Upstream; original: string; contract?: Verdict } | undefined {
    const owner = this.serverOfName(name);
    if (!owner?.perCaller || owner.state !== 'ready') return undefined;
    const original = name.slice(owner.config.prefix.length + this.separator.length);
    // `prefix__` alone names nothing: unknown, not a call with an empty name.
    if (original === '') return undefined;
    const contract = this.guard?.approvedOnly(owner.name, owner.config.pinning, kind, original);
    return { upstream: owner, original, ...(contract ? { contract } : {}) };
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
