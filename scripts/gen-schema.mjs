#!/usr/bin/env node
// Writes the JSON Schemas of the config file and of policy files from their zod
// schemas (the single sources of truth). `--check` only compares and exits 1 on drift.
//
// It transpiles each schema file with TypeScript rather than importing dist/, so it
// works without a full build and never reads a stale dist/. Those schema files must
// therefore import nothing but packages and each other: relative imports are
// followed and transpiled too (the config schema is a folder of files).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const JOBS = [
  { source: 'src/config/schema/index.ts', exportName: 'configJsonSchema', target: 'schema/switchboard.schema.json' },
  { source: 'src/policy/schema.ts', exportName: 'policyJsonSchema', target: 'schema/policy.schema.json' },
  { source: 'src/contracts/lock-schema.ts', exportName: 'lockJsonSchema', target: 'schema/switchboard-lock.schema.json' },
  { source: 'src/observability/audit/record.ts', exportName: 'auditJsonSchema', target: 'schema/audit-record.schema.json' },
];
// Inside the project so that `zod` resolves from node_modules.
const cacheDir = path.join(root, 'node_modules/.cache/switchboard');
mkdirSync(cacheDir, { recursive: true });

/** Transpiles `source` and every file it reaches by relative imports into `outDir`, keeping their layout. */
function transpileTree(source, outDir, done = new Set()) {
  if (done.has(source)) return;
  done.add(source);
  const file = path.join(root, source);
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: file,
  });
  const out = path.join(outDir, source.replace(/\.ts$/, '.js'));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, outputText);
  for (const [, spec] of outputText.matchAll(/(?:from|import)\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
    transpileTree(path.join(path.dirname(source), `${spec}.ts`), outDir, done);
  }
}

async function generate({ source, exportName }) {
  const outDir = mkdtempSync(path.join(cacheDir, 'gen-'));
  // Under node_modules the nearest package.json is not the project's: say these files are ES modules.
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  transpileTree(source, outDir);
  const entry = path.join(outDir, source.replace(/\.ts$/, '.js'));
  const module = await import(pathToFileURL(entry).href).finally(() => rmSync(outDir, { recursive: true, force: true }));
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
