import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('committed JSON Schemas', () => {
  it('match the zod schemas (run `npm run schema` if this fails)', () => {
    const out = execFileSync(process.execPath, [path.join(root, 'scripts/gen-schema.mjs'), '--check'], { encoding: 'utf8' });
    expect(out).toContain('schema/policy.schema.json is up to date');
    expect(out).toContain('schema/switchboard.schema.json is up to date');
  });
});
