import { describe, expect, it } from 'vitest';
import { checkLine, guardStdin } from '../../../src/stdio/guard.js';

describe('checkLine', () => {
  it.each([
    ['{"jsonrpc":"2.0","id":1,"method":"ping"}', 'pass'],
    ['{"jsonrpc":"2.0","method":"notifications/initialized"}\r', 'pass'],
    ['{"jsonrpc":"2.0","id":1,"result":{}}', 'pass'],
    ['   ', 'skip'],
  ])('%s → %s', (line, verdict) => {
    expect(checkLine(line)).toBe(verdict);
  });

  it.each([
    ['not json', -32700, null],
    ['{"jsonrpc":"2.0","id":1,', -32700, null],
    ['[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600, null],
    ['{"jsonrpc":"2.0","id":7,"method":42}', -32600, 7],
    ['{"jsonrpc":"1.0","id":"a","method":"ping"}', -32600, 'a'],
    ['"a string"', -32600, null],
    ['{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}', -32600, null],
  ])('%s → %i (id %j)', (line, code, id) => {
    expect(checkLine(line)).toMatchObject({ error: { code }, id });
  });
});

describe('guardStdin', () => {
  async function run(chunks: string[], max?: number) {
    const answers: { code: number; id: unknown }[] = [];
    const guard = guardStdin((error, id) => void answers.push({ code: error.code, id }), max);
    const passed: string[] = [];
    guard.on('data', (c: Buffer) => passed.push(c.toString()));
    const ended = new Promise((r) => guard.on('end', r));
    for (const c of chunks) guard.write(c);
    guard.end();
    await ended;
    return { passed: passed.join(''), answers };
  }

  it('passes messages split across chunks whole, and answers the rest', async () => {
    const { passed, answers } = await run(['{"jsonrpc":"2.0",', '"id":1,"method":"ping"}\nnope\n[1]\n', '{"jsonrpc":"2.0","id":2,"method":"ping"}\n']);
    expect(passed).toBe('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    expect(answers).toEqual([
      { code: -32700, id: null },
      { code: -32600, id: null },
    ]);
  });

  it('discards a line over the bound without buffering it, once, and goes on', async () => {
    const { passed, answers } = await run(['x'.repeat(60), 'y'.repeat(60), 'z'.repeat(60), '\n{"jsonrpc":"2.0","id":3,"method":"ping"}\n'], 100);
    expect(answers).toEqual([{ code: -32600, id: null }]);
    expect(passed).toBe('{"jsonrpc":"2.0","id":3,"method":"ping"}\n');
  });
});
