/**
 * The quick start does what the README says: examples/quickstart.json with
 * the shipped policies. Without a key, the memory server's write tools are
 * hidden (they need memory.write) and the filesystem's are not; the demo key
 * quickstart-agent has memory.write; quickstart-console signs in to the
 * console as an admin. Audit records go to a file, not the terminal.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacyWithHeaders } from '../helpers/clients.js';
import { connectLegacy, ROOT, startGateway, type RunningGateway } from '../helpers/gateway.js';

const FILE = path.join(ROOT, 'examples/quickstart.json');
let gw: RunningGateway;

beforeAll(async () => {
  gw = await startGateway(JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>, { file: FILE });
});

afterAll(async () => {
  await gw?.close();
});

const names = async (client: { listTools(): Promise<{ tools: { name: string }[] }> }) => (await client.listTools()).tools.map((t) => t.name);

describe('the quick start', () => {
  it('serves the three reference servers; without a key the memory writes are hidden, the filesystem writes are not', async () => {
    const client = await connectLegacy(gw.mcpUrl);
    try {
      const tools = await names(client);
      expect(tools).toEqual(expect.arrayContaining(['everything__echo', 'memory__read_graph', 'filesystem__list_directory', 'filesystem__write_file']));
      expect(tools).not.toContain('memory__create_entities');
    } finally {
      await client.close();
    }
  });

  it('the demo key quickstart-agent has memory.write', async () => {
    const client = await connectLegacyWithHeaders(gw.mcpUrl, { 'X-API-Key': 'quickstart-agent' });
    try {
      expect(await names(client)).toContain('memory__create_entities');
    } finally {
      await client.close();
    }
  });

  it('quickstart-console signs in to the console as an admin', async () => {
    const res = await fetch(`${gw.url}/console/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: 'quickstart-console' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ principal: 'apikey:console', role: 'admin' });
  });

  it('writes audit records to examples/audit.jsonl, not to the terminal', () => {
    expect(gw.gateway.config.gateway.audit.file).toBe(path.join(ROOT, 'examples/audit.jsonl'));
  });
});
