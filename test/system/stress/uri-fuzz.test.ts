/**
 * Fuzzing resource URIs: thousands of generated spellings of a resource that
 * a deny rule protects, and of URIs that climb out of a profile's resource
 * glob, sent to a real reference server (server-everything) through the
 * gateway. Spellings mix case in the prefix, scheme and host, insert `.` and
 * `x/..` segments (plain or percent-encoded), percent-encode unreserved
 * characters. Not one may read the protected
 * resource: every answer is a refusal (policy, invalid URI, unknown
 * resource) or the upstream's own "not found". Seeded (STRESS_SEED, default
 * 7) so a failing spelling can be replayed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectLegacy, EVERYTHING, nodeServer, startGateway, type RunningGateway } from '../../helpers/gateway.js';
import { prng } from '../../helpers/stress.js';

const SEED = Number(process.env.STRESS_SEED ?? 7);
const SPELLINGS = 3_000;
const PROTECTED = ['resource', 'static', 'document', 'architecture.md'];

let dir: string;
let gw: RunningGateway;
let client: Client;
let profile: Client;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchboard-uri-fuzz-'));
  writeFileSync(
    path.join(dir, 'deny.yaml'),
    'rules:\n  - { id: no-architecture, match: { servers: [everything], resources: ["demo://resource/static/document/architecture.md"] }, effect: deny }\n',
  );
  gw = await startGateway({
    mcpServers: { everything: nodeServer(EVERYTHING, ['stdio']) },
    gateway: { policies: dir, profiles: { dyn: { servers: ['everything'], resources: ['everything+demo://resource/dynamic/*'] } } },
  });
  client = await connectLegacy(gw.mcpUrl);
  profile = await connectLegacy(`${gw.url}/mcp/dyn`);
});

afterAll(async () => {
  await profile?.close();
  await client?.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One random spelling of `prefix+demo://<segments>` that resolves (WHATWG) to the same resource. */
function spell(random: () => number, segments: string[]): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const mixCase = (s: string) => [...s].map((c) => (random() < 0.5 ? c.toUpperCase() : c)).join('');
  const escape = (s: string) =>
    [...s].map((c) => (random() < 0.15 ? `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`[random() < 0.5 ? 'toUpperCase' : 'toLowerCase']() : c)).join('');
  const dot = () => pick(['.', '%2e', '%2E']);
  const maybeMixed = (s: string) => (random() < 0.5 ? mixCase(s) : s);
  const path: string[] = [];
  for (const [i, segment] of segments.entries()) {
    if (i > 0) {
      // Detours that resolve away: "./", "x/../", "%2e/", "y/%2e%2e/".
      const detours = Math.floor(random() * 3);
      for (let d = 0; d < detours; d++) path.push(random() < 0.5 ? dot() : `${pick(['x', 'zz', '%41'])}/${dot()}${dot()}`);
    }
    path.push(i === 0 ? maybeMixed(segment) : random() < 0.3 ? escape(segment) : segment);
  }
  const [host, ...rest] = path;
  return `${maybeMixed('everything')}+${maybeMixed('demo')}://${host}/${rest.join('/')}`;
}

const outcomeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'read',
    (e: { data?: { code?: string }; code?: number }) => e.data?.code ?? `upstream ${e.code}`,
  );

describe('fuzzing resource URIs', () => {
  it(`no spelling of a denied resource reads it (${SPELLINGS} spellings, seed ${SEED})`, async () => {
    const random = prng(SEED);
    const outcomes = new Map<string, number>();
    const escaped: string[] = [];
    for (let i = 0; i < SPELLINGS; i++) {
      const uri = spell(random, PROTECTED);
      const outcome = await outcomeOf(client.readResource({ uri }));
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcome === 'read') escaped.push(uri);
    }
    console.log('outcomes', Object.fromEntries(outcomes));
    expect(escaped).toEqual([]);
    // The fuzz must exercise the policy, not only trip on invalid URIs.
    expect(outcomes.get('POLICY_DENIED') ?? 0).toBeGreaterThan(SPELLINGS / 2);
  });

  it("no spelling climbs out of a profile's resource glob", async () => {
    const random = prng(SEED + 1);
    const escaped: string[] = [];
    for (let i = 0; i < SPELLINGS / 3; i++) {
      const climb = Array.from({ length: 1 + Math.floor(random() * 3) }, () => (random() < 0.5 ? '..' : '%2e%2e')).join('/');
      const uri = `everything+demo://resource/dynamic/${climb}/static/document/features.md`;
      if ((await outcomeOf(profile.readResource({ uri }))) === 'read') escaped.push(uri);
    }
    expect(escaped).toEqual([]);
    // The glob itself still serves what it names.
    expect(await outcomeOf(profile.readResource({ uri: 'everything+demo://resource/dynamic/text/1' }))).toBe('read');
  });
});
