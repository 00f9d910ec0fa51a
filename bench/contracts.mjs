// The per-call cost of tool contracts on a pinned tool: the pin check (the
// verdict the catalog holds) plus argument validation against the approved
// input schema, over the unpinned path. Runs the compiled stages (dist/)
// in-process, as the policy bench does; medians of several rounds.
import { performance } from 'node:perf_hooks';
import { Catalog } from '../dist/catalog/catalog.js';
import { contractOf, hashFields } from '../dist/contracts/contract.js';
import { ContractGuard } from '../dist/contracts/guard.js';
import { emptyLock, withEntry } from '../dist/contracts/lock.js';
import { resolveRoute } from '../dist/pipeline/resolve-route.js';
import { validateArguments } from '../dist/pipeline/validate-arguments.js';

const ROUNDS = 5;
const ITERATIONS = 100_000;

/** A realistic tool: a few typed properties, one enum, one pattern, required fields, no extras. */
const TOOL = {
  name: 'write_file',
  description: 'Writes a file inside the allowed directories.',
  inputSchema: {
    type: 'object',
    properties: {
      path: { type: 'string', pattern: '^/' },
      content: { type: 'string', maxLength: 1_000_000 },
      mode: { type: 'string', enum: ['overwrite', 'append'] },
      dryRun: { type: 'boolean' },
    },
    required: ['path', 'content'],
    additionalProperties: false,
  },
  annotations: { destructiveHint: true },
};

function upstream(pinning) {
  return {
    name: 'fs',
    state: 'ready',
    perCaller: false,
    lists: { tools: [TOOL, ...Array.from({ length: 49 }, (_, i) => ({ ...TOOL, name: `tool_${i}` }))], prompts: [], resources: [], resourceTemplates: [] },
    config: { prefix: 'fs', forwardMeta: [], pinning, spec: { type: 'stdio' } },
  };
}

function stages(pinned) {
  const pinning = pinned ? { mode: 'enforce', onNew: 'quarantine', onChanged: 'quarantine' } : { mode: 'off', onNew: 'quarantine', onChanged: 'quarantine' };
  const u = upstream(pinning);
  let guard;
  if (pinned) {
    let lock = emptyLock();
    for (const tool of u.lists.tools) {
      const c = contractOf('tool', 'fs', tool);
      lock = withEntry(lock, 'fs', 'tool', c.name, { hash: hashFields(c.fields), contract: c.fields });
    }
    guard = new ContractGuard({ scan: { mode: 'off', severity: 'high' }, validateArguments: 'enforce' }, lock, () => {});
  }
  const catalog = new Catalog([u], '__', guard);
  return [resolveRoute(catalog), validateArguments(catalog, () => {})];
}

function context(i) {
  return {
    method: 'tools/call',
    params: { name: 'fs__write_file', arguments: { path: `/srv/data/${i}.txt`, content: 'hello', mode: 'append' } },
    session: { id: 's', transport: 'streamable-http', era: 'legacy' },
    principal: { id: 'apikey:a', kind: 'apikey', subject: 'a', scopes: [], groups: [], claims: {} },
    startedAt: 0,
  };
}

function measure(pipeline) {
  const contexts = Array.from({ length: 64 }, (_, i) => context(i));
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const ctx = { ...contexts[i % 64] };
    for (const stage of pipeline) stage.run(ctx);
  }
  return ((performance.now() - start) * 1000) / ITERATIONS;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function runContractsBench() {
  const plain = stages(false);
  const pinned = stages(true);
  measure(plain);
  measure(pinned);
  const rounds = { plain: [], pinned: [] };
  for (let r = 0; r < ROUNDS; r++) {
    rounds.plain.push(measure(plain));
    rounds.pinned.push(measure(pinned));
  }
  const plainUs = median(rounds.plain);
  const pinnedUs = median(rounds.pinned);
  return {
    name: 'pinned tool: pin check + argument validation',
    unpinnedPerCallUs: plainUs,
    pinnedPerCallUs: pinnedUs,
    addedUs: pinnedUs - plainUs,
    targetUs: 5,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(runContractsBench());
