#!/usr/bin/env node
// Writes the JSON Schemas of the config file and of policy files from their zod
// schemas (the single sources of truth). `--check` only compares and exits 1 on drift.
//
// It transpiles each schema file with TypeScript rather than importing dist/, so it
// works without a full build and never reads a stale dist/. Those schema files must
// therefore import nothing but packages (no relative imports).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const JOBS = [
  { source: 'src/config/schema.ts', exportName: 'configJsonSchema', target: 'schema/switchboard.schema.json' },
  { source: 'src/policy/schema.ts', exportName: 'policyJsonSchema', target: 'schema/policy.schema.json' },
];
// Inside the project so that `zod` resolves from node_modules.
const cacheDir = path.join(root, 'node_modules/.cache/switchboard');
mkdirSync(cacheDir, { recursive: true });

async function generate({ source, exportName }) {
  const file = path.join(root, source);
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: file,
  });
  const compiled = path.join(cacheDir, `${source.replace(/[^A-Za-z0-9]+/g, "-")}-${process.pid}.mjs`);
  writeFileSync(compiled, outputText);
  const module = await import(pathToFileURL(compiled).href).finally(() => rmSync(compiled, { force: true }));
  return `${JSON.stringify(module[exportName](), null, 2)}\n`;
}

let stale = false;
for (const job of JOBS) {
  const target = path.join(root, job.target);
  const text = await generate(job);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {}
    if (current !== text) {
      console.error(`${job.target} is out of date: run \`npm run schema\``);
      stale = true;
    } else console.log(`${job.target} is up to date`);
  } else {
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
    console.log(`wrote ${job.target}`);
  }
}
if (stale) process.exit(1);
