import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findConfigFile } from '../../../src/config/find.js';
import { issuesOf } from './helpers.js';

describe('findConfigFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'switchboard-find-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const touch = (name: string) => {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '{"mcpServers":{}}');
    return file;
  };

  it('returns undefined when nothing is found', () => {
    expect(findConfigFile({ cwd: dir, env: {} })).toBeUndefined();
  });

  it('looks for switchboard.json, switchboard.yaml, switchboard.yml, .mcp.json in that order', () => {
    const mcp = touch('.mcp.json');
    expect(findConfigFile({ cwd: dir, env: {} })).toBe(mcp);
    const yml = touch('switchboard.yml');
    expect(findConfigFile({ cwd: dir, env: {} })).toBe(yml);
    const yaml = touch('switchboard.yaml');
    expect(findConfigFile({ cwd: dir, env: {} })).toBe(yaml);
    const json = touch('switchboard.json');
    expect(findConfigFile({ cwd: dir, env: {} })).toBe(json);
  });

  it('prefers SWITCHBOARD_CONFIG over the working directory, and explicit over both', () => {
    touch('switchboard.json');
    const fromEnv = touch('env/config.yaml');
    const explicit = touch('explicit/config.json');
    expect(findConfigFile({ cwd: dir, env: { SWITCHBOARD_CONFIG: 'env/config.yaml' } })).toBe(fromEnv);
    expect(findConfigFile({ cwd: dir, env: { SWITCHBOARD_CONFIG: fromEnv }, explicit: 'explicit/config.json' })).toBe(explicit);
  });

  it('ignores an empty SWITCHBOARD_CONFIG', () => {
    const json = touch('switchboard.json');
    expect(findConfigFile({ cwd: dir, env: { SWITCHBOARD_CONFIG: '' } })).toBe(json);
  });

  it('fails naming an explicit or SWITCHBOARD_CONFIG file that does not exist', () => {
    touch('switchboard.json');
    const missing = path.join(dir, 'nope.json');
    expect(issuesOf(() => findConfigFile({ cwd: dir, env: {}, explicit: 'nope.json' }))[0]?.file).toBe(missing);
    const fromEnv = issuesOf(() => findConfigFile({ cwd: dir, env: { SWITCHBOARD_CONFIG: missing } }));
    expect(fromEnv[0]?.file).toBe(missing);
    expect(fromEnv[0]?.message).toContain('SWITCHBOARD_CONFIG');
  });

  it('does not accept a directory as the config file', () => {
    mkdirSync(path.join(dir, 'conf'));
    issuesOf(() => findConfigFile({ cwd: dir, env: {}, explicit: 'conf' }));
  });
});
