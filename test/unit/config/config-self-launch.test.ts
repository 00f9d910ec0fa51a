/**
 * The gateway never launches itself: the static check at load (an entry that
 * would run Switchboard on the file being loaded, in the spellings client
 * configs use) and the run-time marker (SWITCHBOARD_PARENT_CONFIG).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.js';
import { selfLaunchArgv, shellWords } from '../../../src/config/self-launch-argv.js';
import { PARENT_CONFIG_ENV, childParentConfig } from '../../../src/config/self-launch.js';
import { issueAt, issuesOf, paths } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'bin/switchboard.js');

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'switchboard-self-')));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `name` in the temp folder (objects as JSON) and returns its path. */
function write(name: string, content: unknown): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** A config whose only server is `entry`, written as `name`. */
const withEntry = (entry: Record<string, unknown>, name = '.mcp.json', key = 'mcpServers') => write(name, { [key]: { gw: entry } });
const loopIssues = (file: string) => issuesOf(() => loadConfigFile(file, {}), file);

describe('a config that starts Switchboard on itself is an error at the entry', () => {
  const spellings: [string, Record<string, unknown>][] = [
    ['npx switchboard --config <relative>', { command: 'npx', args: ['switchboard', '--stdio', '--config', '.mcp.json'] }],
    ['npx -y switchboard@latest --config=./<relative>', { command: 'npx', args: ['-y', 'switchboard@latest', '--stdio', '--config=./.mcp.json'] }],
    ['npx --yes @scope/switchboard', { command: 'npx', args: ['--yes', '@acme/switchboard@1.2.3', '--stdio', '--config', '.mcp.json'] }],
    ['npx -p switchboard switchboard', { command: 'npx', args: ['-p', 'switchboard', 'switchboard', '--config', '.mcp.json'] }],
    ['npx.cmd on Windows', { command: 'C:\\Program Files\\nodejs\\npx.cmd', args: ['-y', 'switchboard', '--config', '.mcp.json'] }],
    ['pnpm dlx switchboard', { command: 'pnpm', args: ['dlx', 'switchboard', 'serve', '--config', '.mcp.json'] }],
    ['npm exec -- switchboard', { command: 'npm', args: ['exec', '--', 'switchboard', '--stdio', '--config', '.mcp.json'] }],
    ['bunx switchboard', { command: 'bunx', args: ['switchboard', '--stdio', '--config', '.mcp.json'] }],
    ['the switchboard bin', { command: 'switchboard', args: ['--stdio', '--config', '.mcp.json'] }],
    ['node <this repo>/bin/switchboard.js', { command: 'node', args: [BIN, '--stdio', '--config', '.mcp.json'] }],
    [
      'node with options and a relative bin',
      { command: 'node', args: ['--no-warnings', '-r', 'x', 'bin/switchboard.js', '--stdio', '--config', '__FILE__'], cwd: ROOT },
    ],
    ['node_modules/.bin/switchboard', { command: './node_modules/.bin/switchboard', args: ['--stdio', '--config', '.mcp.json'] }],
    ['sh -c "…"', { command: 'sh', args: ['-c', "exec npx -y switchboard --stdio --config '.mcp.json'"] }],
    ['cmd /c npx …', { command: 'cmd', args: ['/c', 'npx', '-y', 'switchboard', '--stdio', '--config', '.mcp.json'] }],
    ['env VAR=x switchboard', { command: 'env', args: ['DEBUG=1', 'switchboard', '--stdio', '--config', '.mcp.json'] }],
    ['switchboard catalog', { command: 'switchboard', args: ['catalog', '--config', '.mcp.json'] }],
  ];
  for (const [label, entry] of spellings) {
    it(label, () => {
      const file = path.join(dir, '.mcp.json');
      const args = (entry.args as string[]).map((a) => a.replace('__FILE__', file));
      withEntry({ ...entry, args });
      const issue = issueAt(loopIssues(file), 'mcpServers.gw');
      expect(issue.message).toMatch(/starts Switchboard itself.*without end/);
      expect(issue.fix).toContain('remove "gw"');
      expect(issue.fix).toMatch(/config file of its own/);
    });
  }

  it('an absolute --config, from any working directory', () => {
    const file = path.join(dir, 'gateway.json');
    withEntry({ command: 'npx', args: ['-y', 'switchboard', '--stdio', '--config', file] }, 'gateway.json');
    expect(paths(loopIssues(file))).toEqual(['mcpServers.gw']);
  });

  it('no --config: the default lookup finds this file (Claude Code project scope)', () => {
    const file = withEntry({ command: 'npx', args: ['switchboard', '--stdio'] });
    expect(issueAt(loopIssues(file), 'mcpServers.gw').message).toMatch(/without --config it finds this file/);
  });

  it('no --config, but SWITCHBOARD_CONFIG in the entry names this file', () => {
    const file = withEntry({ command: 'switchboard', args: ['--stdio'], env: { SWITCHBOARD_CONFIG: 'other.json' } }, 'other.json');
    expect(issueAt(loopIssues(file), 'mcpServers.gw').message).toMatch(/SWITCHBOARD_CONFIG/);
  });

  it('a symlink to this file is this file', () => {
    const file = withEntry({ command: 'switchboard', args: ['--stdio', '--config', 'link.json'] });
    symlinkSync(file, path.join(dir, 'link.json'));
    expect(paths(loopIssues(file))).toEqual(['mcpServers.gw']);
  });

  it("VS Code's servers key and ${workspaceFolder}", () => {
    const file = withEntry(
      { type: 'stdio', command: 'npx', args: ['switchboard', '--stdio', '--config', '${workspaceFolder}/.vscode/mcp.json'] },
      '.vscode/mcp.json',
      'servers',
    );
    expect(paths(loopIssues(file))).toEqual(['servers.gw']);
  });

  it('names every looping entry, with the file', () => {
    const file = write('.mcp.json', {
      mcpServers: {
        a: { command: 'switchboard', args: ['--config', '.mcp.json'] },
        ok: { command: 'node', args: ['x.js'] },
        b: { command: 'npx', args: ['switchboard'] },
      },
    });
    expect(paths(loopIssues(file))).toEqual(['mcpServers.a', 'mcpServers.b']);
  });
});

describe('what is not a loop', () => {
  const loads = (file: string) => expect(loadConfigFile(file, {}).servers.length).toBeGreaterThan(0);

  it('a nested gateway with a config of its own', () => {
    write('inner.json', { mcpServers: {} });
    loads(withEntry({ command: 'npx', args: ['-y', 'switchboard', '--stdio', '--config', 'inner.json'] }));
  });

  it('no --config where the lookup finds another file first', () => {
    write('switchboard.json', { mcpServers: {} });
    loads(withEntry({ command: 'npx', args: ['switchboard', '--stdio'] }));
  });

  it('commands that start no upstreams, and --help', () => {
    for (const args of [['validate', '--config', '.mcp.json'], ['bridge', '--', 'x'], ['hash-key'], ['--help', '--config', '.mcp.json']]) {
      loads(withEntry({ command: 'switchboard', args }));
    }
  });

  it('another package or script with the same flags', () => {
    loads(withEntry({ command: 'npx', args: ['-y', 'switchboard-client', '--config', '.mcp.json'] }));
    loads(withEntry({ command: 'node', args: ['server.js', '--config', '.mcp.json'] }));
    loads(withEntry({ command: 'node', args: ['-e', 'x', BIN, '--config', '.mcp.json'] }));
  });

  it('an entry that is disabled, here or in gateway.servers', () => {
    loads(withEntry({ command: 'npx', args: ['switchboard', '--config', '.mcp.json'], disabled: true }));
    const file = write('.mcp.json', {
      mcpServers: { gw: { command: 'npx', args: ['switchboard', '--config', '.mcp.json'] } },
      gateway: { servers: { gw: { enabled: false } } },
    });
    expect(loadConfigFile(file, {}).servers[0]?.enabled).toBe(false);
  });
});

describe('reading a command line', () => {
  it('finds Switchboard and its arguments', () => {
    expect(selfLaunchArgv('npx', ['-y', 'switchboard', '--stdio'], dir, BIN)).toEqual(['--stdio']);
    expect(selfLaunchArgv('npx', ['--registry', 'https://r', 'switchboard', 'x'], dir, BIN)).toEqual(['x']);
    expect(selfLaunchArgv('npm', ['exec', 'switchboard', '--', '--stdio'], dir, BIN)).toEqual(['--stdio']);
    expect(selfLaunchArgv('node', ['--', BIN, 'serve'], dir, BIN)).toEqual(['serve']);
    expect(selfLaunchArgv('bash', ['-lc', 'switchboard --stdio; echo done'], dir, BIN)).toEqual(['--stdio']);
    expect(selfLaunchArgv('npx', ['-y', '@modelcontextprotocol/server-memory'], dir, BIN)).toBeUndefined();
    expect(selfLaunchArgv('uvx', ['mcp-server-fetch'], dir, BIN)).toBeUndefined();
  });

  it('splits shell words', () => {
    expect(shellWords(`exec a 'b c' "d \\" e" f\\ g`)).toEqual(['a', 'b c', 'd " e', 'f g']);
    expect(shellWords('a && b')).toEqual(['a']);
  });
});

describe('at run time: SWITCHBOARD_PARENT_CONFIG', () => {
  const valid = () => write('switchboard.json', { mcpServers: { a: { command: 'node', args: ['x.js'] } } });

  it('refuses to load the config of the gateway that started this one, in one line naming the loop', () => {
    const file = valid();
    const issues = issuesOf(() => loadConfigFile(file, { [PARENT_CONFIG_ENV]: file }), file);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('');
    expect(issues[0]!.message).toMatch(/^gateway loop: the gateway that started this one uses this same config file/);
    expect(issues[0]!.message).not.toContain('\n');
    expect(issues[0]!.fix).toMatch(/config file of its own/);
  });

  it('refuses a config further up the chain (A → B → A), and a symlink to it', () => {
    const file = valid();
    const other = write('other.json', { mcpServers: {} });
    const chain = [other, file].join(path.delimiter);
    expect(issuesOf(() => loadConfigFile(file, { [PARENT_CONFIG_ENV]: chain }))[0]!.message).toMatch(/2 levels above/);
    symlinkSync(file, path.join(dir, 'link.json'));
    expect(issuesOf(() => loadConfigFile(path.join(dir, 'link.json'), { [PARENT_CONFIG_ENV]: file }))).toHaveLength(1);
  });

  it('lets a gateway with a different config start under another gateway', () => {
    const file = valid();
    const other = write('other.json', { mcpServers: {} });
    expect(loadConfigFile(file, { [PARENT_CONFIG_ENV]: other }).servers).toHaveLength(1);
    expect(loadConfigFile(file, { [PARENT_CONFIG_ENV]: '' }).servers).toHaveLength(1);
  });

  it('a child gets its gateway config before the inherited chain, each once', () => {
    expect(childParentConfig('/a.json', undefined)).toBe('/a.json');
    expect(childParentConfig('/a.json', ['/b.json', '/c.json'].join(path.delimiter))).toBe(['/a.json', '/b.json', '/c.json'].join(path.delimiter));
    expect(childParentConfig('/a.json', '/a.json')).toBe('/a.json');
    expect(childParentConfig(undefined, '/b.json')).toBe('/b.json');
    expect(childParentConfig(undefined, undefined)).toBeUndefined();
  });

  it('a loaded stdio spec carries its config file (non-enumerable), a pseudo-file none', () => {
    const file = valid();
    const spec = loadConfigFile(file, {}).servers[0]!.spec;
    expect(spec.type === 'stdio' && spec.gatewayConfig).toBe(file);
    expect(Object.keys(spec)).not.toContain('gatewayConfig');
  });
});
