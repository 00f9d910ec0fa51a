/**
 * Starts a real gateway in-process on 127.0.0.1 port 0 from a config object,
 * and connects real SDK clients to it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { createGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/observability/log.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures/servers');
export const EVERYTHING = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  mcpUrl: string;
  logs: string[];
  /** Audit records written so far, parsed. */
  audit: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startGateway(
  config: Record<string, unknown>,
  options: { settleMs?: number /** Where relative paths in the config resolve from. */; file?: string } = {},
): Promise<RunningGateway> {
  const logs: string[] = [];
  const audit: Record<string, unknown>[] = [];
  const log: Logger = createLogger({ level: 'debug', write: (line) => void logs.push(line) });
  const loaded = parseConfig(withNoPolicies(config), options.file ?? path.join(ROOT, 'test/inline.json'), process.env);
  const gateway = createGateway(loaded, log, { auditWrite: (line) => void audit.push(JSON.parse(line)) });
  gateway.start();
  await gateway.settled(options.settleMs ?? 20_000);
  const { url } = await gateway.listen('127.0.0.1', 0);
  return {
    gateway,
    url,
    mcpUrl: `${url}${loaded.gateway.path}`,
    logs,
    audit,
    close: () => gateway.stop(),
  };
}

/**
 * Tests state their policies: unless a config names a policy directory, it
 * gets an empty one rather than the repository's example policies.
 */
function withNoPolicies(config: Record<string, unknown>): Record<string, unknown> {
  const gateway = (config.gateway ?? {}) as Record<string, unknown>;
  if (gateway.policies !== undefined) return config;
  return { ...config, gateway: { ...gateway, policies: path.join(ROOT, 'test/fixtures/policies/none') } };
}

/** A stdio server entry that runs `node <script> …args`. */
export function nodeServer(script: string, args: string[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [script, ...args], ...extra };
}

/** The 2025-era client most deployed clients still are (v1 SDK). */
export async function connectLegacy(mcpUrl: string, capabilities: ClientCapabilities = {}): Promise<LegacyClient> {
  const client = new LegacyClient({ name: 'test-client', version: '1.0.0' }, { capabilities });
  await client.connect(new LegacyHttpTransport(new URL(mcpUrl)));
  return client;
}

/** Polls a condition that has no event to await (e.g. process tables), bounded in time. */
export async function eventually<T>(probe: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type GatewayUpstream = RunningGateway['gateway']['upstreams'][number];
type RequestArgs = Parameters<GatewayUpstream['request']>;
const forwardWaiters = new WeakMap<GatewayUpstream, Set<(args: RequestArgs) => boolean>>();

/**
 * Resolves once the gateway has sent upstream `server` (over its shared
 * connection) a request that `match` accepts: the signal that a call is in
 * flight upstream, where a test would otherwise sleep and hope. Call it
 * before making the call. Only observes: the request goes on unchanged.
 * Calls that go out on a session's own connection (stdio servers with
 * isolation "session"; 2025-era HTTP upstreams, for 2025-era sessions) are
 * not seen: wait for `gw.gateway.hub.sessions.isBusy(sessionId)` there.
 */
export function forwardedTo(
  gw: RunningGateway,
  server: string,
  match: (method: string, params: Record<string, unknown> | undefined) => boolean,
): Promise<void> {
  const upstream = gw.gateway.upstreams.find((u) => u.name === server);
  if (!upstream) throw new Error(`no upstream named ${server}`);
  let waiters = forwardWaiters.get(upstream);
  if (!waiters) {
    const all = new Set<(args: RequestArgs) => boolean>();
    waiters = all;
    forwardWaiters.set(upstream, all);
    const request = upstream.request.bind(upstream);
    upstream.request = (...args: RequestArgs) => {
      // Sent first, so that whoever the signal wakes finds the request on its way.
      const sent = request(...args);
      for (const waiter of [...all]) if (waiter(args)) all.delete(waiter);
      return sent;
    };
  }
  return new Promise<void>((resolve) => {
    waiters.add(([method, params]) => {
      if (!match(method, params)) return false;
      resolve();
      return true;
    });
  });
}
