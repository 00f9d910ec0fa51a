import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../src/cli/args.js';

describe('parseArgs', () => {
  it('defaults to serve', () => {
    expect(parseArgs([]).command).toBe('serve');
    expect(parseArgs(['--stdio']).flags.stdio).toBe(true);
  });

  it('reads valued flags in both spellings', () => {
    const args = parseArgs(['serve', '--config', 'a.json', '--port=9000', '--host', '0.0.0.0']);
    expect(args.flags).toMatchObject({ config: 'a.json', port: '9000', host: '0.0.0.0' });
  });

  it('keeps everything after -- verbatim for the bridge', () => {
    const args = parseArgs(['bridge', '--port', '1', '--', 'npx', '-y', 'server', '--flag']);
    expect(args.command).toBe('bridge');
    expect(args.rest).toEqual(['npx', '-y', 'server', '--flag']);
  });

  it.each([[['--nope']], [['--config']], [['--port', 'abc']], [['--log-level', 'loud']]])('rejects %j', (argv) => {
    expect(() => parseArgs(argv)).toThrow();
  });
});
