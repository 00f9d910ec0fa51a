/**
 * What a server entry carries besides its transport: `disabled`, near-miss
 * keys (warnings, never errors), other clients' keys (silent), and VS Code's
 * mcp.json (`${env:…}`, `${workspaceFolder}`, `envFile`, `${input:…}`).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEnvText } from '../../../src/config/env-file.js';
import { loadConfigFile } from '../../../src/config/load.js';
import type { StdioServerSpec } from '../../../src/config/schema/index.js';
import { issueAt, issuesOf, parse, paths, server } from './helpers.js';

describe('"disabled": true', () => {
  it('keeps the server, disabled (state "disabled": listed, never connected)', () => {
    const cfg = parse({ mcpServers: { off: { command: 'x', disabled: true }, on: { command: 'y', disabled: false }, plain: { url: 'https://x' } } });
    expect(cfg.servers.map((s) => [s.name, s.enabled])).toEqual([
      ['off', false],
      ['on', true],
      ['plain', true],
    ]);
    expect(cfg.skipped).toEqual([]);
    expect(cfg.warnings).toEqual([]);
  });

  it('works on remote entries too, and gateway.servers.<name>.enabled: true wins over it', () => {
    const cfg = parse({
      mcpServers: { r: { url: 'https://x', disabled: true }, forced: { command: 'x', disabled: true } },
      gateway: { servers: { forced: { enabled: true } } },
    });
    expect(server(cfg, 'r').enabled).toBe(false);
    expect(server(cfg, 'forced').enabled).toBe(true);
  });

  it('must be a boolean', () => {
    const issue = issueAt(
      issuesOf(() => parse({ mcpServers: { a: { command: 'x', disabled: 'yes' } } })),
      'mcpServers.a.disabled',
    );
    expect(issue.message).toBe('expected boolean, got a string');
  });
});

describe('unknown keys in a server entry', () => {
  const warningsOf = (entry: Record<string, unknown>) => parse({ mcpServers: { a: entry } }).warnings;

  it('a near miss of a key Switchboard reads is a did-you-mean warning, not an error', () => {
    expect(warningsOf({ command: 'x', arg: ['y'] })).toEqual(['mcpServers.a.arg: unknown key "arg" is ignored; did you mean "args"?']);
    expect(warningsOf({ command: 'x', Env: {} })).toEqual([expect.stringContaining('did you mean "env"?')]);
    expect(warningsOf({ command: 'x', cwdir: '.' })).toEqual([expect.stringContaining('did you mean "cwd"?')]);
    expect(warningsOf({ command: 'x', disable: true })).toEqual([expect.stringContaining('did you mean "disabled"?')]);
    expect(warningsOf({ command: 'x', envfile: '.env' })).toEqual([expect.stringContaining('did you mean "envFile"?')]);
    expect(warningsOf({ url: 'https://x', header: {} })).toEqual([expect.stringContaining('did you mean "headers"?')]);
    expect(warningsOf({ url: 'https://x', typ: 'http' })).toEqual([expect.stringContaining('did you mean "type"?')]);
    expect(warningsOf({ url: 'https://x', oauht: {} })).toEqual([expect.stringContaining('did you mean "oauth"?')]);
  });

  it('other words for env, args and cwd, and their misspellings', () => {
    expect(warningsOf({ command: 'x', environment: {} })).toEqual([expect.stringContaining('"environment" is ignored; did you mean "env"?')]);
    expect(warningsOf({ command: 'x', enviroment: {} })).toEqual([expect.stringContaining('"enviroment" is ignored; did you mean "env"?')]);
    expect(warningsOf({ command: 'x', arguments: [] })).toEqual([expect.stringContaining('did you mean "args"?')]);
    expect(warningsOf({ command: 'x', workingDirectory: '.' })).toEqual([expect.stringContaining('did you mean "cwd"?')]);
  });

  it('a gateway setting written in the entry points to gateway.servers', () => {
    expect(warningsOf({ command: 'x', prefix: 'gh' })).toEqual([
      'mcpServers.a.prefix: "prefix" is a gateway setting, not read in a server entry; move it to gateway.servers.a.prefix',
    ]);
    expect(warningsOf({ command: 'x', timeoutMS: 5 })).toEqual([expect.stringContaining('move it to gateway.servers.a.timeoutMs')]);
    expect(warningsOf({ command: 'x', enabled: false })).toEqual([expect.stringContaining('write "disabled": true, or set gateway.servers.a.enabled')]);
  });

  it("other clients' keys are accepted silently, and so are keys far from any", () => {
    const entry = {
      command: 'x',
      autoApprove: ['t'],
      alwaysAllow: [],
      timeout: 60,
      transportType: 'stdio',
      description: 'd',
      trust: true,
      includeTools: [],
      excludeTools: [],
      disabledTools: [],
      dev: { watch: '**/*.js' },
      auth: {},
      name: 'n',
      note: 'mine',
      comment: 'why this server',
    };
    expect(warningsOf(entry)).toEqual([]);
  });

  it('warnings keep the servers key and never fail the load', () => {
    const cfg = parse({ servers: { a: { type: 'stdio', command: 'x', comand: 'y' } } });
    expect(cfg.servers).toHaveLength(1);
    expect(cfg.warnings).toEqual([expect.stringMatching(/^servers\.a\.comand: .*did you mean "command"\?/)]);
  });

  it("Gemini CLI's httpUrl alone: the error says to rename it", () => {
    const issue = issueAt(
      issuesOf(() => parse({ mcpServers: { g: { httpUrl: 'https://x' } } })),
      'mcpServers.g',
    );
    expect(issue.fix).toBe('rename "httpUrl" to "url"');
  });
});

describe("VS Code's mcp.json", () => {
  let ws: string;
  beforeEach(() => {
    ws = realpathSync(mkdtempSync(path.join(tmpdir(), 'switchboard-vscode-')));
  });
  afterEach(() => rmSync(ws, { recursive: true, force: true }));
  const write = (name: string, content: unknown) => {
    const file = path.join(ws, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const vscode = (servers: Record<string, unknown>, inputs: unknown[] = []) => write('.vscode/mcp.json', { inputs, servers });
  const spec = (file: string, env: Record<string, string> = {}, name = 's') =>
    loadConfigFile(file, env).servers.find((s) => s.name === name)!.spec as StdioServerSpec;

  it('${workspaceFolder} is the folder above .vscode; ${env:VAR} is the environment, like ${VAR}', () => {
    const file = vscode({
      s: {
        type: 'stdio',
        command: 'node',
        args: ['${workspaceFolder}/server.js', '${workspaceFolderBasename}', '${userHome}'],
        env: { A: '${env:SB_A}', B: '${SB_A}', C: '${env:SB_MISSING:-fallback}', D: '${env:workspaceFolder}' },
      },
    });
    const s = spec(file, { SB_A: 'a-value', workspaceFolder: 'from-env' });
    expect(s.args).toEqual([path.join(ws, 'server.js'), path.basename(ws), homedir()]);
    expect(s.env).toEqual({ A: 'a-value', B: 'a-value', C: 'fallback', D: 'from-env' });
  });

  it('${workspaceFolder} of a file outside .vscode is its own folder', () => {
    const file = write('conf/switchboard.json', { mcpServers: { s: { command: 'node', args: ['${workspaceFolder}/x.js'] } } });
    expect(spec(file).args).toEqual([path.join(ws, 'conf/x.js')]);
  });

  it('envFile (relative to the workspace folder) fills the env, below explicit env', () => {
    write('.env', '# comment\nFROM_FILE=file-value\nexport BOTH="from file"\nQUOTED="a\\nb" # trailing\n');
    const file = vscode({ s: { type: 'stdio', command: 'node', envFile: '.env', env: { BOTH: 'explicit' } } });
    expect(spec(file).env).toEqual({ FROM_FILE: 'file-value', BOTH: 'explicit', QUOTED: 'a\nb' });
    const viaVar = vscode({ s: { type: 'stdio', command: 'node', envFile: '${workspaceFolder}/.env' } });
    expect(spec(viaVar).env.FROM_FILE).toBe('file-value');
  });

  it('a missing or broken envFile is an error at servers.<name>.envFile; on a remote server, a warning', () => {
    const missing = vscode({ s: { type: 'stdio', command: 'node', envFile: 'nope.env' } });
    const issue = issueAt(
      issuesOf(() => loadConfigFile(missing, {}), missing),
      'servers.s.envFile',
    );
    expect(issue.message).toMatch(new RegExp(`cannot read ${path.join(ws, 'nope.env')} \\(ENOENT\\)`));
    expect(issue.fix).toContain(ws);
    write('bad.env', 'GOOD=1\nthis is not a line\n');
    const bad = vscode({ s: { type: 'stdio', command: 'node', envFile: 'bad.env' } });
    expect(
      issueAt(
        issuesOf(() => loadConfigFile(bad, {})),
        'servers.s.envFile',
      ).message,
    ).toMatch(/line 2 of .*bad\.env is not KEY=VALUE/);
    expect(paths(issuesOf(() => loadConfigFile(vscode({ s: { command: 'node', envFile: 3 } }), {})))).toEqual(['servers.s.envFile']);
    // A server that will not run needs no env file.
    const off = vscode({ s: { type: 'stdio', command: 'node', envFile: 'nope.env', disabled: true } });
    expect(loadConfigFile(off, {}).servers[0]?.enabled).toBe(false);
    const remote = vscode({ r: { type: 'http', url: 'https://x', envFile: 'nope.env' } });
    expect(loadConfigFile(remote, {}).warnings).toEqual([expect.stringContaining('servers.r.envFile: applies to stdio servers only')]);
  });

  it('${input:id} is an error naming the input and the ${env:…} to write instead', () => {
    const file = vscode({ s: { type: 'stdio', command: 'node', env: { GITHUB_TOKEN: '${input:github-token}' } } }, [
      { type: 'promptString', id: 'github-token', description: 'GitHub token', password: true },
    ]);
    const issue = issueAt(
      issuesOf(() => loadConfigFile(file, {}), file),
      'servers.s.env.GITHUB_TOKEN',
    );
    expect(issue.message).toMatch(/"\$\{input:github-token\}" is a VS Code input.*cannot prompt for input "github-token"/);
    expect(issue.fix).toBe("write ${env:GITHUB_TOKEN} instead and set GITHUB_TOKEN in the gateway's environment");
    expect(issue.message).not.toMatch(/malformed/);
  });

  it('other VS Code-only variables get their own error', () => {
    const file = vscode({ s: { type: 'stdio', command: 'node', args: ['${command:pickFile}'] } });
    expect(
      issueAt(
        issuesOf(() => loadConfigFile(file, {})),
        'servers.s.args[0]',
      ).message,
    ).toMatch(/VS Code variable/);
  });
});

describe('env files', () => {
  it('parses dotenv lines', () => {
    expect(parseEnvText('A=1\n\n  # c\nB = two words # note\nC=\'lit # \\n\'\nD="multi\nline"\nE=\n')).toEqual({
      env: { A: '1', B: 'two words', C: 'lit # \\n', D: 'multi\nline', E: '' },
    });
    expect(parseEnvText('A="open\n')).toEqual({ error: expect.stringMatching(/line 1 .*unclosed double quote/) });
    expect(parseEnvText("A='x' y")).toEqual({ error: expect.stringMatching(/text after the closing quote/) });
  });
});
