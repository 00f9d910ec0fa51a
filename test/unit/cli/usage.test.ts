/**
 * The CLI's word on itself: each command's help lists options (with their
 * defaults) and an example, the options a help lists are the ones its
 * command accepts and no others, usage errors name the command and point to
 * its help, and docs/cli.md shows the same synopsis the CLI prints.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandKey, nearest, parseArgs, UsageError } from '../../../src/cli/args.js';
import { bridgeConfig, BRIDGE_PORT } from '../../../src/cli/commands/bridge.js';
import { COMMAND_HELP, COMMAND_NAMES, GROUPS, helpText, packageVersion, USAGE, usageErrorText } from '../../../src/cli/usage.js';
import { ROOT } from '../../helpers/gateway.js';

const usageError = (argv: string[]): UsageError => {
  try {
    parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`no usage error for ${JSON.stringify(argv)}`);
};

describe('help', () => {
  it.each(Object.keys(COMMAND_HELP))('%s: a synopsis, options with defaults, and an example', (key) => {
    const text = helpText(key)!;
    expect(text).toMatch(/^Usage: switchboard /);
    expect(text).toMatch(/\nOptions:\n/);
    expect(text).toContain('-h, --help');
    expect(text).toMatch(/\nExamples?:\n {2}(switchboard|printf)/);
    for (const option of COMMAND_HELP[key]!.options) {
      expect(text).toContain(option.flag);
      // Every option says what it does when not given, or that it must be given.
      expect(option.text, `${key} ${option.flag}`).toMatch(/\(default: [^)]+\)|\(required\)/);
    }
  });

  it('a group shows each of its subcommands', () => {
    for (const [group, subs] of Object.entries(GROUPS)) {
      const text = helpText(group)!;
      for (const sub of subs) expect(text).toContain(`switchboard ${group} ${sub}`);
    }
    expect(helpText('nope')).toBeUndefined();
  });

  it('the main usage lists every synopsis line, --help and --version', () => {
    for (const help of Object.values(COMMAND_HELP)) for (const line of help.usage) expect(USAGE).toContain(`  ${line}\n`);
    expect(USAGE).toContain('-V, --version');
    for (const name of COMMAND_NAMES) expect(USAGE).toContain(`switchboard ${name === 'serve' ? '[serve]' : name}`);
  });

  it('docs/cli.md shows the same synopsis and documents --help, --version and exit 2', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/cli.md'), 'utf8');
    for (const help of Object.values(COMMAND_HELP)) for (const line of help.usage) expect(doc).toContain(line);
    expect(doc).toContain('--version');
    expect(doc).toMatch(/`2` usage error/);
  });

  it('the version is package.json’s', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(packageVersion()).toBe(pkg.version);
  });
});

describe('options per command', () => {
  it('accepts exactly the options its help lists', () => {
    expect(parseArgs(['catalog', '--json', '--profile', 'p', '--log-level', 'warn']).flags).toMatchObject({ json: true, profile: 'p' });
    expect(usageError(['validate', '--json']).message).toBe('unknown option --json (validate does not take it)');
    expect(usageError(['policy', 'test', '--call', 'x']).key).toBe('policy test');
    expect(parseArgs(['policy', 'explain', '--call', 'a__b', '--args', 'a.json']).flags).toMatchObject({ call: 'a__b', args: 'a.json' });
    expect(parseArgs(['credentials', 'revoke', '--principal', 'apikey:a', '--server', 'gh']).flags).toMatchObject({ server: 'gh' });
    expect(usageError(['credentials', 'list', '--server', 'gh']).key).toBe('credentials list');
  });

  it('suggests the option or command meant', () => {
    expect(usageError(['catalog', '--jsno']).message).toBe('unknown option --jsno (did you mean --json?)');
    expect(usageError(['catalgo']).message).toBe("unknown command 'catalgo' (did you mean 'catalog'?)");
  });

  it('missing and misplaced values, and operands a command does not take', () => {
    expect(usageError(['serve', '--config']).message).toBe('--config needs a value');
    expect(usageError(['serve', '--config=']).message).toBe('--config needs a value');
    expect(usageError(['catalog', '--json=yes']).message).toBe('--json takes no value');
    expect(usageError(['--port', '70000']).message).toMatch(/--port must be a number from 0 to 65535/);
    expect(usageError(['--config', 'a.json', 'validate']).message).toBe("unexpected argument 'validate'");
    expect(usageError(['bridge', 'node', 'server.js']).message).toMatch(/goes after --/);
  });

  it('--help and --version win over anything else on the line', () => {
    expect(parseArgs(['catalog', '--bogus', '--help']).flags.help).toBe(true);
    expect(parseArgs(['-V']).flags.version).toBe(true);
    expect(parseArgs(['nope', '-h'])).toMatchObject({ command: 'nope', flags: { help: true } });
  });

  it('keeps what follows -- for the bridge only; for others it is operands', () => {
    expect(parseArgs(['bridge', '--', 'node', '--help'])).toMatchObject({ rest: ['node', '--help'], flags: {} });
    expect(parseArgs(['hash-key', '--', '--odd-key'])).toMatchObject({ positionals: ['--odd-key'], rest: [] });
  });

  it('names the subcommand it is about', () => {
    expect(commandKey({ command: 'policy', positionals: ['explain'] })).toBe('policy explain');
    expect(commandKey({ command: 'policy', positionals: ['nope'] })).toBe('policy');
    expect(commandKey({ command: 'pin', positionals: ['diff'] })).toBe('pin');
  });
});

describe('usage errors', () => {
  it('one line, the synopsis, and a pointer to the help', () => {
    const text = usageErrorText('unknown option --x', 'validate');
    expect(text.split('\n')).toEqual([
      'switchboard validate: unknown option --x',
      'Usage: switchboard validate [--config F]',
      "Run 'switchboard validate --help' for its options and an example.",
      '',
    ]);
    expect(usageErrorText("unknown command 'x'")).toBe("switchboard: unknown command 'x'\nRun 'switchboard --help' for the commands and their options.\n");
  });

  it("a subcommand's error shows its whole command's synopsis", () => {
    const text = usageErrorText('--principal needs a value', 'credentials list');
    expect(text).toContain('switchboard credentials revoke --principal P --server S');
    expect(text).toContain("Run 'switchboard credentials list --help'");
  });
});

describe('nearest', () => {
  it('finds swaps, typos and containment, closest first', () => {
    expect(nearest('ks__ecoh', ['ks__echo', 'ks__add', 'ks__each_one'])).toEqual(['ks__echo']);
    expect(nearest('create_issue', ['github__create_issue', 'github__list_issues'])).toEqual(['github__create_issue']);
    expect(nearest('zzz', ['ks__echo'])).toEqual([]);
  });
});

describe('bridge', () => {
  it('listens on 8081 unless told, beside serve’s 8080', () => {
    expect(BRIDGE_PORT).toBe(8081);
    const config = bridgeConfig(['node', 'server.js']);
    expect(config.gateway.listen).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(config.servers[0]).toMatchObject({ name: 'bridge', prefix: '', spec: { command: 'node', args: ['server.js'] } });
    expect(() => bridgeConfig([])).toThrow(UsageError);
  });
});
