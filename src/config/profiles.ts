/**
 * Profiles: curated endpoints over one gateway. Expands `include` (a plugin's
 * own .mcp.json whose servers join the gateway and make up the profile),
 * checks what spans keys (unknown servers, clashing paths), and resolves each
 * profile to where it is served.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { ProfileSchema, ProfileSettings } from './schema/index.js';
import type { Report } from './issues.js';
import { parseJsonText } from './raw.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const RESERVED_PATHS = ['/sse', '/messages', '/healthz', '/readyz', '/metrics', '/.well-known'];

/**
 * Merges each included plugin file's servers into the config's servers (before
 * validation, so they are checked like any other), and names them as the
 * profile's servers. Relative paths of a plugin's stdio servers resolve
 * against the plugin's own folder.
 */
export function expandIncludes(data: Obj, key: 'mcpServers' | 'servers', baseDir: string, add: Report): void {
  const gw = isObj(data.gateway) ? data.gateway : undefined;
  const profiles = gw && isObj(gw.profiles) ? gw.profiles : undefined;
  if (!profiles) return;
  for (const [name, profile] of Object.entries(profiles)) {
    if (!isObj(profile) || typeof profile.include !== 'string') continue;
    const at = ['gateway', 'profiles', name, 'include'];
    const file = path.resolve(baseDir, profile.include);
    let plugin: unknown;
    try {
      plugin = parseJsonText(readFileSync(file, 'utf8'), file);
    } catch (err) {
      add(at, `cannot read ${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, 'point "include" at a plugin\'s .mcp.json');
      continue;
    }
    const servers = isObj(plugin) && isObj(plugin.mcpServers) ? plugin.mcpServers : undefined;
    if (!servers) {
      add(at, `${file} has no "mcpServers" object`, 'include a valid .mcp.json');
      continue;
    }
    const target = (isObj(data[key]) ? data[key] : (data[key] = {})) as Obj;
    for (const [server, entry] of Object.entries(servers)) {
      if (server in target) {
        add(at, `server "${server}" of ${file} is already configured`, 'rename it in one of the files');
        continue;
      }
      target[server] =
        isObj(entry) && typeof entry.command === 'string'
          ? { ...entry, cwd: path.resolve(path.dirname(file), typeof entry.cwd === 'string' ? entry.cwd : '.') }
          : entry;
    }
    profile.servers = [...new Set([...(Array.isArray(profile.servers) ? profile.servers : []), ...Object.keys(servers)])];
  }
}

/** Profiles naming servers that do not exist, and paths that clash, are errors. */
export function checkProfiles(data: Obj, key: 'mcpServers' | 'servers', add: Report): void {
  const gw = isObj(data.gateway) ? data.gateway : {};
  const profiles = isObj(gw.profiles) ? gw.profiles : {};
  const servers = isObj(data[key]) ? Object.keys(data[key] as Obj) : [];
  const mainPath = typeof gw.path === 'string' ? gw.path : '/mcp';
  const taken = new Map<string, string>();
  for (const [name, profile] of Object.entries(profiles)) {
    if (!isObj(profile)) continue;
    for (const [i, server] of (Array.isArray(profile.servers) ? profile.servers : []).entries()) {
      if (typeof server === 'string' && !servers.includes(server)) {
        add(['gateway', 'profiles', name, 'servers', i], `no server named "${server}" in "${key}"`, `one of: ${servers.join(', ') || '(none)'}`);
      }
    }
    if (name !== 'default' && profile.servers === undefined && profile.include === undefined) {
      add(['gateway', 'profiles', name], 'a profile needs "servers" or "include"', 'list the servers this profile shows');
    }
    const served = name === 'default' ? mainPath : typeof profile.path === 'string' ? profile.path : `${mainPath}/${name}`;
    const owner = taken.get(served);
    if (owner !== undefined) add(['gateway', 'profiles', name, 'path'], `path "${served}" is also profile "${owner}"'s`, 'give it another "path"');
    if (name !== 'default' && (served === mainPath || RESERVED_PATHS.some((p) => served === p || served.startsWith(`${p}/`)))) {
      add(['gateway', 'profiles', name, 'path'], `path "${served}" is taken by the gateway`, 'choose another "path"');
    }
    taken.set(served, name);
  }
}

/** The settings of every profile, with where each is served. */
export function resolveProfiles(profiles: Record<string, z.output<typeof ProfileSchema>>, mainPath: string): Record<string, ProfileSettings> {
  return Object.fromEntries(
    Object.entries(profiles).map(([name, p]) => {
      const { include: _include, path: ownPath, ...rest } = p;
      return [name, { ...rest, name, path: name === 'default' ? mainPath : (ownPath ?? `${mainPath}/${name}`) }];
    }),
  );
}
