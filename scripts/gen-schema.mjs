#!/usr/bin/env node
// Writes schema/switchboard.schema.json from the zod schema in src/config/schema.ts
// (the single source of truth). `--check` only compares and exits 1 on drift.
//
// It transpiles that one file with TypeScript rather than importing dist/, so it
// works without a full build and never reads a stale dist/. schema.ts must
// therefore import nothing but packages (no relative imports).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/config/schema.ts');
const target = path.join(root, 'schema/switchboard.schema.json');

const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  fileName: source,
});
// Inside the project so that `zod` resolves from node_modules.
const cacheDir = path.join(root, 'node_modules/.cache/switchboard');
mkdirSync(cacheDir, { recursive: true });
const compiled = path.join(cacheDir, `schema-${process.pid}.mjs`);
writeFileSync(compiled, outputText);
const { configJsonSchema } = await import(pathToFileURL(compiled).href).finally(() =>
  rmSync(compiled, { force: true }),
);
const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== text) {
    console.error(`${path.relative(root, target)} is out of date: run \`npm run schema\``);
    process.exit(1);
  }
  console.log(`${path.relative(root, target)} is up to date`);
} else {
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote ${path.relative(root, target)}`);
}
