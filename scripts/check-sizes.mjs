#!/usr/bin/env node
// Every source file stays under 300 lines, or says at its top why it does not
// (a line containing "Over 300 lines:" within its first 15 lines). Longer files
// with a reason are listed; longer files without one fail the check.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const LIMIT = 300;
const ROOT = new URL('..', import.meta.url).pathname;

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

let failed = 0;
for (const file of sources(join(ROOT, 'src'))) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const count = lines.at(-1) === '' ? lines.length - 1 : lines.length;
  if (count <= LIMIT) continue;
  const reason = lines.slice(0, 15).find((line) => line.includes('Over 300 lines:'));
  const name = relative(ROOT, file);
  if (reason) console.warn(`warning: ${name} has ${count} lines (${reason.replace(/^[\s/*]*/, '').trim()})`);
  else {
    console.error(`error: ${name} has ${count} lines; split it, or say why at its top ("Over 300 lines: <reason>")`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
