// `npm run bench`: every benchmark in one run, printed as a table and written as JSON.
// Uses the compiled gateway in dist/ (npm install / npm run build makes it).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPolicyBench } from './policy.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = { machine: { node: process.version, cpus: (await import('node:os')).cpus().length }, policy: runPolicyBench() };

const p = results.policy;
console.log('benchmark                                      result');
console.log(`policy decision, empty policy set              ${p.emptyPerCallUs.toFixed(2)} µs/call`);
const verdict = (us) => `(target ≤ ${p.targetUs} µs: ${us <= p.targetUs ? 'met' : 'MISSED'})`;
console.log(`policy decision, ${p.rules} rules over 10 servers     ${p.hundredRulesPerCallUs.toFixed(2)} µs/call   ${verdict(p.hundredRulesPerCallUs)}`);
console.log(`policy decision, ${p.rules} rules on one server       ${p.hundredRulesOneServerPerCallUs.toFixed(2)} µs/call   ${verdict(p.hundredRulesOneServerPerCallUs)}`);

mkdirSync(path.join(root, 'bench/results'), { recursive: true });
const out = path.join(root, 'bench/results/latest.json');
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten to ${path.relative(root, out)}`);
