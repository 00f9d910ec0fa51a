/**
 * What `switchboard pin` and `switchboard scan` look at: every contract the
 * configured upstreams serve now. Starts the upstreams alone (no policy, no
 * lock, no listener), waits for them, reads their lists, stops them.
 */
import type { LoadedConfig, LogLevel, ServerConfig } from '../config/schema/index.js';
import { exposeName, exposeUri } from '../catalog/names.js';
import type { LiveEntry } from '../contracts/compare.js';
import { contractOf, hashFields, type ContractKind } from '../contracts/contract.js';
import { createLogger } from '../observability/log.js';
import { UpstreamCaches } from '../upstream/caches.js';
import { Upstream } from '../upstream/server.js';
import { settledUpstreams } from '../app/upstream-events.js';
import type { View } from '../pipeline/view.js';
import type { ParsedArgs } from './args.js';

export interface LiveServers {
  contracts: LiveEntry[];
  /** Servers whose lists were read (ready, enabled, not per-caller). */
  read: string[];
  /** Servers that could not be read, and why (down, disabled, acting as each caller). */
  unread: { server: string; reason: string }[];
  /** Whether an entry is in what was asked for (`--profile`): others are neither read nor judged. */
  inView: (server: string, kind: ContractKind, name: string) => boolean;
}

const SECTIONS = [
  ['tool', 'tools'],
  ['prompt', 'prompts'],
  ['resourceTemplate', 'resourceTemplates'],
] as const;
const VIEW_KIND = { tool: 'tools', prompt: 'prompts', resourceTemplate: 'resourceTemplates' } as const;

export async function readLiveContracts(config: LoadedConfig, args: ParsedArgs, view: View, settleMs: number): Promise<LiveServers> {
  const log = createLogger({ level: (args.flags['log-level'] as LogLevel | undefined) ?? 'error', pretty: true });
  const caches = new UpstreamCaches();
  const upstreams = config.servers.map(
    (server: ServerConfig) => new Upstream(server, log.child({ server: server.name }), { maxTotalTimeoutMs: config.gateway.maxRequestTimeoutMs, caches }),
  );
  for (const u of upstreams) u.start();
  await settledUpstreams(upstreams, settleMs);
  const byName = new Map(upstreams.map((u) => [u.name, u]));
  const inView = (server: string, kind: ContractKind, name: string) => {
    const u = byName.get(server);
    return u !== undefined && shows(view, u, kind, name, config.gateway.separator);
  };
  const out: LiveServers = { contracts: [], read: [], unread: [], inView };
  for (const u of upstreams) {
    if (u.perCaller) out.unread.push({ server: u.name, reason: 'acts as each caller: its contracts are per user and cannot be read here' });
    else if (u.state !== 'ready') out.unread.push({ server: u.name, reason: u.state === 'disabled' ? 'disabled' : `not ready (${u.errorClass ?? u.state})` });
    else {
      out.read.push(u.name);
      for (const [kind, section] of SECTIONS) {
        for (const item of u.lists[section]) {
          const contract = contractOf(kind, u.name, item as unknown as Record<string, unknown>);
          if (contract && inView(u.name, kind, contract.name)) out.contracts.push({ contract, hash: hashFields(contract.fields) });
        }
      }
    }
  }
  await Promise.allSettled(upstreams.map((u) => u.stop()));
  caches.close();
  return out;
}

function shows(view: View, upstream: Upstream, kind: ContractKind, name: string, separator: string): boolean {
  const { prefix } = upstream.config;
  const exposed = kind === 'resourceTemplate' ? exposeUri(prefix, name) : exposeName(prefix, name, separator);
  return view.shows(VIEW_KIND[kind], { upstream, original: name, item: {} }, exposed);
}
