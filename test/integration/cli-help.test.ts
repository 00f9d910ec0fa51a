/**
 * The CLI's help, version and usage errors as a user meets them: `node
 * bin/switchboard.js …` (the build in dist/: `npm run build` first). Help and
 * version go to stdout with exit 0; a usage error is exit 2 with one line on
 * stderr, the command's synopsis and a pointer to its help.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_HELP } from '../../src/cli/usage.js';
import { ROOT } from '../helpers/gateway.js';
import { runCli } from '../helpers/processes.js';

let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'switchboard-cli-help-'));
});

afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args, { cwd });

describe.concurrent('help', () => {
  it('--help prints the synopsis of every command to stdout', async () => {
    const [long, short, word] = await Promise.all([cli(['--help']), cli(['-h']), cli(['help'])]);
    for (const r of [long, short, word]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(long.stdout);
    }
    for (const help of Object.values(COMMAND_HELP)) for (const line of help.usage) expect(long.stdout).toContain(line);
    expect(long.stdout).toContain("Run 'switchboard <command> --help'");
  });

  it.each(Object.keys(COMMAND_HELP))('%s --help and help %s: its options with defaults and an example', async (key) => {
    const words = key.split(' ');
    const [flag, word] = await Promise.all([cli([...words, '--help']), cli(['help', ...words])]);
    for (const r of [flag, word]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
    }
    expect(word.stdout).toBe(flag.stdout);
    expect(flag.stdout).toMatch(new RegExp(`^Usage: switchboard ${key === 'serve' ? '\\[serve\\]' : key}`));
    expect(flag.stdout).toMatch(/\nOptions:\n[\s\S]*-h, --help[\s\S]*\nExamples?:\n {2}\S/);
    for (const option of COMMAND_HELP[key]!.options) expect(flag.stdout).toContain(option.flag);
  });

  it('a group shows each subcommand; --help wins over a bad option', async () => {
    const [group, bad] = await Promise.all([cli(['audit', '--help']), cli(['catalog', '--bogus', '--help'])]);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain('Usage: switchboard audit verify');
    expect(group.stdout).toContain('Usage: switchboard audit replay');
    expect(bad.code).toBe(0);
    expect(bad.stdout).toMatch(/^Usage: switchboard catalog/);
  });

  it('bridge --help shows its own default port, 8081', async () => {
    const r = await cli(['bridge', '--help']);
    expect(r.stdout).toMatch(/--port P\s+.*\(default: 8081/);
  });
});

describe.concurrent('version', () => {
  it('--version and -V print the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const [long, short] = await Promise.all([cli(['--version']), cli(['-V'])]);
    for (const r of [long, short]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
      expect(r.stderr).toBe('');
    }
  });
});

describe.concurrent('usage errors: exit 2, one line, the synopsis and a pointer to --help', () => {
  it.each([
    [['catalog', '--jsn'], 'switchboard catalog: unknown option --jsn (did you mean --json?)', 'catalog'],
    [['validate', '--config'], 'switchboard validate: --config needs a value', 'validate'],
    [['serve', '--port', 'http'], "switchboard serve: --port must be a number from 0 to 65535 (got 'http')", 'serve'],
    [['policy', 'explain'], 'switchboard policy: --call server__tool is required', 'policy explain'],
    [['bridge', '--port', '0'], 'switchboard bridge: no command to bridge (put it after --)', 'bridge'],
    [['hash-key', 'a', 'b'], "switchboard hash-key: unexpected argument 'b'", 'hash-key'],
  ])('%j', async (args, first, key) => {
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(first);
    expect(lines[1]).toMatch(/^Usage: switchboard /);
    expect(lines.at(-1)).toBe(`Run 'switchboard ${key} --help' for its options and an example.`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unknown command names the one meant and points to the main help', async () => {
    const [typo, other, help] = await Promise.all([cli(['catalgo']), cli(['frobnicate']), cli(['help', 'frobnicate'])]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(
      "switchboard: unknown command 'catalgo' (did you mean 'catalog'?)\nRun 'switchboard --help' for the commands and their options.\n",
    );
    expect(other.code).toBe(2);
    expect(other.stderr).toBe("switchboard: unknown command 'frobnicate'\nRun 'switchboard --help' for the commands and their options.\n");
    expect(help.code).toBe(2);
    expect(help.stdout).toBe('');
  });
});
