/**
 * Whether the tool `policy explain --call` names is one that is served, so
 * that a typo is said as such (exit 2, with the near matches) instead of
 * being decided as if it existed. The names come from the contract lock when
 * it lists the tool; otherwise from the one server the name points to, read
 * live (bounded), as the gateway would see it. A server that cannot be read
 * is said on stderr, and the call is decided anyway.
 */
import { exposeName } from '../../catalog/names.js';
import type { LoadedConfig } from '../../config/schema/index.js';
import { lockedEntries, type Lock } from '../../contracts/lock.js';
import { settledUpstreams } from '../../app/upstream-events.js';
import { createLogger } from '../../observability/log.js';
import { UpstreamCaches } from '../../upstream/caches.js';
import { Upstream } from '../../upstream/server.js';
import { nearest, UsageError } from '../args.js';

type Server = LoadedConfig['servers'][number];

/** `server__tool` → the configured server whose prefix it carries, and the original tool name; a UsageError naming near matches if none does. */
export function splitExposed(config: LoadedConfig, call: string): { server: Server; tool: string } {
  const sep = config.gateway.separator;
  const match = config.servers.filter((s) => s.prefix !== '' && call.startsWith(`${s.prefix}${sep}`)).sort((a, b) => b.prefix.length - a.prefix.length)[0];
  if (match) return { server: match, tool: call.slice(match.prefix.length + sep.length) };
  const unprefixed = config.servers.filter((s) => s.prefix === '');
  if (unprefixed.length === 1) return { server: unprefixed[0]!, tool: call };
  const at = call.indexOf(sep);
  const [prefix, tool] = at === -1 ? [call, ''] : [call.slice(0, at), call.slice(at + sep.length)];
  const prefixes = config.servers.map((s) => s.prefix).filter((p) => p !== '');
  const near = nearest(prefix, prefixes).map((p) => (tool ? `${p}${sep}${tool}` : `${p}${sep}<tool>`));
  const known = prefixes.length > 0 ? `the servers' prefixes are ${prefixes.join(', ')}` : 'no server is configured';
  throw new UsageError(`unknown tool '${call}': no configured server has the prefix '${prefix}' (${known})${nearText(near)}`, 'policy explain');
}

/** Throws a UsageError when `tool` is known not to be served by `server`; resolves when it is served or cannot be checked. */
export async function checkServed(config: LoadedConfig, server: Server, tool: string, lock: Lock | undefined, settleMs: number): Promise<void> {
  const locked = lock ? lockedEntries(lock, server.name).filter((e) => e.kind === 'tool') : [];
  if (locked.some((e) => e.name === tool)) return;
  const live = await liveToolNames(config, server, settleMs);
  if ('unread' in live) {
    process.stderr.write(`switchboard policy explain: could not check that ${server.name} serves '${tool}' (${live.unread}); deciding anyway\n`);
    return;
  }
  if (live.names.includes(tool)) return;
  const sep = config.gateway.separator;
  const exposed = exposeName(server.prefix, tool, sep);
  const candidates = [...live.names, ...locked.map((e) => e.name)].map((name) => exposeName(server.prefix, name, sep));
  throw new UsageError(`unknown tool '${exposed}': ${server.name} serves no tool '${tool}'${nearText(nearest(exposed, candidates))}`, 'policy explain');
}

function nearText(near: string[]): string {
  return near.length > 0 ? `; near matches: ${near.join(', ')}` : '';
}

/** The tool names `server` serves now: it alone is started, waited for (bounded) and stopped. */
async function liveToolNames(config: LoadedConfig, server: Server, settleMs: number): Promise<{ names: string[] } | { unread: string }> {
  if (!server.enabled) return { unread: 'it is disabled' };
  if (server.credentials !== 'static') return { unread: 'it acts as each caller, so its tools are per user' };
  const caches = new UpstreamCaches();
  const upstream = new Upstream(server, createLogger({ level: 'error', pretty: true }), { maxTotalTimeoutMs: config.gateway.maxRequestTimeoutMs, caches });
  try {
    upstream.start();
    await settledUpstreams([upstream], settleMs);
    if (upstream.state !== 'ready')
      return { unread: upstream.state === 'connecting' ? `not connected within ${settleMs / 1000} s` : `not ready: ${upstream.errorClass ?? upstream.state}` };
    return { names: upstream.lists.tools.map((t) => t.name) };
  } finally {
    await upstream.stop();
    caches.close();
  }
}
