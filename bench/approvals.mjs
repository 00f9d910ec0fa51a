// The approvals stage on the path every call takes when no rule asks for an
// approval (in-process, dist/): what turning approvals on costs the calls that
// need none. Medians of several rounds.
import { performance } from 'node:perf_hooks';
import { approve } from '../dist/pipeline/approve.js';

const ROUNDS = 5;
const ITERATIONS = 1_000_000;

function round(stage, ctx) {
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    if (stage.run(ctx) !== undefined) throw new Error('the no-op path returned a promise');
  }
  return ((performance.now() - start) * 1000) / ITERATIONS;
}

export function runApprovalsBench() {
  // Nothing the no-op path reads besides the decision and the method.
  const stage = approve({ approvals: {}, policyVersion: () => 'v', shown: (a) => a, sessionTtlMs: 60_000 });
  const ctx = { method: 'tools/call', decision: { allowed: true, trace: [] } };
  round(stage, ctx);
  const rounds = Array.from({ length: ROUNDS }, () => round(stage, ctx)).sort((a, b) => a - b);
  return { noopPerCallUs: rounds[Math.floor(ROUNDS / 2)] };
}
