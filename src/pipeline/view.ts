/**
 * What one endpoint shows: the whole catalog, or a profile's part of it
 * (its servers, narrowed by globs over exposed names). A profile narrows what
 * is visible; policy still decides what is allowed. A name outside the view
 * is as unknown as a name that does not exist.
 */
import type { Routed } from '../catalog/catalog.js';
import type { ProfileSettings } from '../config/schema/index.js';
import { compileGlobs } from '../policy/glob.js';
import type { Matcher } from '../policy/types.js';

export type ViewKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export interface View {
  /** The profile's name; undefined for the whole gateway. */
  readonly profile?: string;
  readonly disclosure: 'full' | 'search';
  readonly pinned: ReadonlySet<string>;
  /** Whether the view includes anything of this server (for list_changed). */
  hasServer(server: string): boolean;
  shows(kind: ViewKind, entry: Routed<object>, exposed: string): boolean;
}

export const WHOLE_CATALOG: View = {
  disclosure: 'full',
  pinned: new Set(),
  hasServer: () => true,
  shows: () => true,
};

export function createView(profile: ProfileSettings | undefined): View {
  if (!profile) return WHOLE_CATALOG;
  const servers = profile.servers && new Set(profile.servers);
  const globs: Partial<Record<ViewKind, Matcher>> = {
    tools: profile.tools && compileGlobs(profile.tools),
    prompts: profile.prompts && compileGlobs(profile.prompts),
    resources: profile.resources && compileGlobs(profile.resources),
    resourceTemplates: profile.resources && compileGlobs(profile.resources),
  };
  return {
    profile: profile.name,
    disclosure: profile.disclosure,
    pinned: new Set(profile.pinned),
    hasServer: (server) => !servers || servers.has(server),
    shows: (kind, entry, exposed) => (!servers || servers.has(entry.upstream.name)) && (globs[kind]?.test(exposed) ?? true),
  };
}
