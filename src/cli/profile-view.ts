/**
 * What `--profile NAME` shows: the view of one profile (or the whole
 * catalog), and whether a catalog entry is in it. Shared by `serve --stdio`,
 * `catalog` and serve's warning about profiles that match nothing.
 */
import type { Gateway } from '../app/gateway.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import type { LoadedConfig } from '../config/schema/index.js';
import { ConfigError } from '../core/errors.js';
import { createView, WHOLE_CATALOG, type View } from '../pipeline/view.js';
import type { ParsedArgs } from './args.js';

/** `--profile NAME`: that profile's view, or the whole catalog. */
export function profileView(config: LoadedConfig, args: ParsedArgs): View {
  const name = typeof args.flags.profile === 'string' ? args.flags.profile : undefined;
  if (name === undefined) return WHOLE_CATALOG;
  const profile = config.gateway.profiles[name];
  if (!profile) {
    const known = Object.keys(config.gateway.profiles);
    throw new ConfigError([
      {
        file: config.file,
        path: `gateway.profiles.${name}`,
        message: `no profile named "${name}"`,
        fix: known.length ? `one of: ${known.join(', ')}` : 'define it under gateway.profiles',
      },
    ]);
  }
  return createView(profile);
}

export function inProfile(gateway: Gateway, view: View, entry: CatalogEntry): boolean {
  const kind = entry.kind === 'tool' ? 'tools' : entry.kind === 'prompt' ? 'prompts' : entry.kind === 'resource' ? 'resources' : 'resourceTemplates';
  const upstream = gateway.upstreams.find((u) => u.name === entry.server)!;
  return view.shows(kind, { upstream, original: entry.original, item: {} }, entry.exposed);
}
