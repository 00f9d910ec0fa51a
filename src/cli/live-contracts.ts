/**
 * What `switchboard pin` and `switchboard scan` look at: every contract the
 * configured upstreams serve now. Starts the upstreams alone (no policy, no
 * lock, no listener), waits for them, reads their lists, stops them.
 */
import type { LoadedConfig, LogLevel, ServerConfig } from '../config/schema/index.js';
import { exposeName, exposeUri } from '../catalog/names.js';
import { contractOf, hashFields, type Contract, type ContractKind } from '../contracts/contract.js';
import { createLogger } from '../observability/log.js';
import { UpstreamCaches } from '../upstream/caches.js';
import { Upstream } from '../upstream/server.js';
import { settledUpstreams } from '../app/upstream-events.js';
import type { View } from '../pipeline/view.js';
import type { ParsedArgs } from './args.js';

export interface LiveContract {
  contract: Contract;
  hash: string;
}

export interface LiveServers {
  contracts: LiveContract[];
  /** Servers whose lists were read (ready, enabled, not per-caller). */
  read: string[];
  /** Servers that could not be read, and why (down, disabled, acting as each caller). */
  unread: { server: string; reason: string }[];
}

const SECTIONS = [
  ['tool', 'tools', 'tools'],
  ['prompt', 'prompts', 'prompts'],
  ['resourceTemplate', 'resourceTemplates', 'resourceTemplates'],
] as const;

export async function readLiveContracts(config: LoadedConfig, args: ParsedArgs, view: View, settleMs: number): Promise<LiveServers> {
  const log = createLogger({ level: (args.flags['log-level'] as LogLevel | undefined) ?? 'error', pretty: true });
  const caches = new UpstreamCaches();
  const upstreams = config.servers.map(
    (server: ServerConfig) => new Upstream(server, log.child({ server: server.name }), { maxTotalTimeoutMs: config.gateway.maxRequestTimeoutMs, caches }),
  );
  for (const u of upstreams) u.start();
  await settledUpstreams(upstreams, settleMs);
  const out: LiveServers = { contracts: [], read: [], unread: [] };
  for (const u of upstreams) {
    if (u.perCaller) out.unread.push({ server: u.name, reason: 'acts as each caller: its contracts are per user and cannot be read here' });
    else if (u.state !== 'ready') out.unread.push({ server: u.name, reason: u.state === 'disabled' ? 'disabled' : `not ready (${u.errorClass ?? u.state})` });
    else {
      out.read.push(u.name);
      for (const [kind, section, viewKind] of SECTIONS) {
        for (const item of u.lists[section]) {
          const contract = contractOf(kind, u.name, item as unknown as Record<string, unknown>);
          if (contract && shows(view, u, kind, viewKind, contract, config.gateway.separator))
            out.contracts.push({ contract, hash: hashFields(contract.fields) });
        }
      }
    }
  }
  await Promise.allSettled(upstreams.map((u) => u.stop()));
  caches.close();
  return out;
}

function shows(
  view: View,
  upstream: Upstream,
  kind: ContractKind,
  viewKind: 'tools' | 'prompts' | 'resourceTemplates',
  c: Contract,
  separator: string,
): boolean {
  const { prefix } = upstream.config;
  const exposed = kind === 'resourceTemplate' ? exposeUri(prefix, c.name) : exposeName(prefix, c.name, separator);
  return view.shows(viewKind, { upstream, original: c.name, item: {} }, exposed);
}
