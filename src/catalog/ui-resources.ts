/**
 * MCP Apps: a tool whose `_meta` names a `ui://` resource (`_meta.ui.resourceUri`,
 * or the earlier `_meta["ui/resourceUri"]`) is listed with that URI namespaced
 * like every other resource URI of its server, so the host's read of it routes
 * back to that server (and is decided by policy like any resource read).
 */
import { exposeUri } from './names.js';

type Item = { _meta?: Record<string, unknown> } & Record<string, unknown>;

export function withExposedUiUri<T extends object>(tool: T, prefix: string): T {
  const meta = (tool as Item)._meta;
  if (prefix === '' || meta === null || typeof meta !== 'object') return tool;
  const ui = meta.ui as Record<string, unknown> | undefined;
  const nested = ui !== null && typeof ui === 'object' && typeof ui.resourceUri === 'string' ? ui.resourceUri : undefined;
  const flat = typeof meta['ui/resourceUri'] === 'string' ? (meta['ui/resourceUri'] as string) : undefined;
  if (nested === undefined && flat === undefined) return tool;
  const next: Record<string, unknown> = { ...meta };
  if (nested !== undefined) next.ui = { ...ui, resourceUri: exposeUri(prefix, nested) };
  if (flat !== undefined) next['ui/resourceUri'] = exposeUri(prefix, flat);
  return { ...tool, _meta: next };
}
