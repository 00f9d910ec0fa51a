// The per-call cost of the chained audit record: sealing one record into the
// hash chain (sorted-key JSON + SHA-256) against writing it as a plain JSON
// line, in-process (no I/O); medians of several rounds. The record is built
// as pipeline/record.ts builds it (canonical key order, chain fields in place).
import { performance } from 'node:perf_hooks';
import { isCanonical } from '../dist/infra/canonical.js';
import { AuditChain } from '../dist/observability/audit/chain.js';

const ROUNDS = 5;
const ITERATIONS = 100_000;

/** A typical record of an allowed tool call (digest of the arguments, no argument values). */
function record(i) {
  const r = {
    type: 'audit',
    time: new Date(1_790_000_000_000 + i).toISOString(),
    requestId: `0f59c4d1-68a8-4869-85f6-${String(i).padStart(12, '0')}`,
    principal: 'apikey:ci-bot',
    principalKind: 'apikey',
    groups: ['engineering'],
    scopes: ['github.write'],
    session: 'd3b07384-d9a0-4f2f-9d0b-0c7f7b1f4b6e',
    transport: 'streamable-http',
    method: 'tools/call',
    server: 'github',
    name: 'github__create_issue',
    original: 'create_issue',
    annotations: { destructiveHint: false },
    decision: 'allow',
    ruleId: 'engineering-may-write',
    reason: 'allowed by rule engineering-may-write',
    rules: ['engineering-may-write'],
    policyVersion: 'sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945',
    outcome: 'ok',
    latencyMs: 1.234,
    argsDigest: 'sha256:bfeb0fba23b125f8e755a687aa86d30651ca919b193eead4058d65f03f22eda5',
  };
  // Built as pipeline/record.ts builds it: keys in code-unit order, the chain's fields in place.
  return Object.fromEntries(Object.entries({ ...r, prev: null, seq: 0, writer: '' }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function measure(write) {
  const records = Array.from({ length: 64 }, (_, i) => record(i));
  let bytes = 0;
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) bytes += write(records[i % 64]).length;
  return { perCallUs: ((performance.now() - start) * 1000) / ITERATIONS, bytes };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function runAuditBench() {
  const chain = new AuditChain('bench@2026-01-01T00:00:00.000Z');
  const plain = (r) => `${JSON.stringify(r)}\n`;
  // As pipeline/record.ts does: the nested values from outside are checked, then the record sealed in place.
  const chained = (r) => chain.sealInPlace(r, isCanonical(r.annotations) && isCanonical(r.args) && isCanonical(r.shadow)).line;
  measure(plain);
  measure(chained);
  const rounds = { plain: [], chained: [] };
  for (let r = 0; r < ROUNDS; r++) {
    rounds.plain.push(measure(plain).perCallUs);
    rounds.chained.push(measure(chained).perCallUs);
  }
  const plainUs = median(rounds.plain);
  const chainedUs = median(rounds.chained);
  return { name: 'audit record: chained vs plain JSON line', plainPerCallUs: plainUs, chainedPerCallUs: chainedUs, addedUs: chainedUs - plainUs, targetUs: 2 };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(runAuditBench());
