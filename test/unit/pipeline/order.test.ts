/**
 * ARCHITECTURE.md tells a reader the order every forwarded request goes
 * through, and the HTTP admission order; this holds them to the code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ADMISSION_ORDER } from '../../../src/http/admission.js';
import { pipelineParts, type PipelineDeps } from '../../../src/pipeline/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('the pipeline order', () => {
  it('is the one ARCHITECTURE.md states', () => {
    // Building the parts only names them: no stage runs, so the dependencies are not used.
    const parts = pipelineParts({} as PipelineDeps);
    const built = [...parts.stages.map((s) => s.name), parts.terminal.name];
    const finish = parts.finish.map((f) => f.name);
    const line = readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('pipeline: '));
    expect(line, 'ARCHITECTURE.md has a line starting "pipeline: "').toBeDefined();
    const [stages, finally_] = line!.slice('pipeline: '.length).split('finally:');
    const names = (text: string) =>
      text
        .split('→')
        .map((s) => s.trim())
        .filter(Boolean);
    expect(names(stages!)).toEqual(built);
    expect(names(finally_!)).toEqual(finish);
  });

  it('and the HTTP admission order is the one ARCHITECTURE.md states', () => {
    const line = readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('admission: '));
    expect(line, 'ARCHITECTURE.md has a line starting "admission: "').toBeDefined();
    const names = line!
      .slice('admission: '.length)
      .split('→')
      .map((s) => s.trim());
    expect(names).toEqual([...ADMISSION_ORDER]);
  });
});
