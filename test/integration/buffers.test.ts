/**
 * Hostile upstreams, against the in-process gateway with real clients
 * (test/fixtures/servers/hostile.mjs upstream):
 *
 * - (a) 40 MB of stderr without a newline: the gateway holds a capped piece
 *   of the line, counts the cut, and serves other clients meanwhile.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioUpstreamTransport } from '../../src/upstream/stdio.js';
import { MAX_STDERR_LINE_CHARS } from '../../src/upstream/stderr-lines.js';
import { connectLegacy, eventually, FIXTURES, nodeServer, startGateway, type RunningGateway } from '../helpers/gateway.js';

const HOSTILE = path.join(FIXTURES, 'hostile.mjs');

interface Stats {
  toolsListCalls: number;
  logsSent: number;
  progressSent: number;
  cancelled: number;
}

let gw: RunningGateway;
let client: Client;
let other: Client;

beforeAll(async () => {
  gw = await startGateway({ mcpServers: { hostile: nodeServer(HOSTILE), calm: nodeServer(HOSTILE, ['--name', 'calm']) } });
  [client, other] = await Promise.all([connectLegacy(gw.mcpUrl), connectLegacy(gw.mcpUrl)]);
});

afterAll(async () => {
  await Promise.allSettled([client?.close(), other?.close()]);
  await gw?.close();
});

const textOf = (result: unknown) => ((result as { content: { text: string }[] }).content[0]!.text);
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => textOf(await c.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }));
const stats = async (server = 'hostile'): Promise<Stats> => JSON.parse(await call(other, `${server}__stats`)) as Stats;

/** The stdio transport of an upstream's shared connection (its bounded stderr state is public). */
function stdioOf(name: string): StdioUpstreamTransport {
  const upstream = gw.gateway.upstreams.find((u) => u.name === name)!;
  return (upstream as unknown as { connected: { transport: StdioUpstreamTransport } }).connected.transport;
}

/** Sum of one counter's samples whose labels include `labels`. */
async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Calls `calm__echo` from the other client until `done` settles; how many answered. */
async function servedMeanwhile(done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  let answered = 0;
  while (!finished) {
    expect(await call(other, 'calm__echo', { text: `n${answered}` })).toBe(`n${answered}`);
    answered++;
  }
  return answered;
}

describe('(a) an upstream flooding stderr', () => {
  it('holds a capped piece of a 40 MB line without a newline, counts the cut, and keeps serving others', async () => {
    const before = await counter('switchboard_upstream_stderr_truncated_total', { server: 'hostile' });
    const flood = call(client, 'hostile__stderr_flood', { megabytes: 40, separator: 'none' });
    const answered = await servedMeanwhile(flood);
    expect(await flood).toBe(`flooded ${40 * 1024 * 1024}`);
    expect(answered).toBeGreaterThan(0);
    const state = stdioOf('hostile').stderrState;
    expect(state.partialChars).toBeLessThanOrEqual(MAX_STDERR_LINE_CHARS);
    expect(state.truncatedLines).toBeGreaterThanOrEqual(1);
    expect(await counter('switchboard_upstream_stderr_truncated_total', { server: 'hostile' })).toBe(before + 1);
  }, 90_000);

  it('takes \\r as a line end: a progress bar leaves nothing pending and its last redraw in the tail', async () => {
    expect(await call(client, 'hostile__stderr_flood', { megabytes: 2, separator: 'cr' })).toBe(`flooded ${2 * 1024 * 1024}`);
    // The chunk that ends the flood may still be on its way through the pipe when the answer arrives.
    const transport = await eventually(() => stdioOf('hostile'), (t) => t.stderrState.partialChars < 100);
    expect(transport.recentStderr.split('\n').at(-1)).toMatch(/^downloading layer \d+: #*$/);
  });
});
