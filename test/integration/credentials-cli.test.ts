/**
 * `switchboard credentials list|revoke` as a user runs it (the built CLI in
 * dist/: `npm run build` first), on a config whose file store was filled
 * through FileCredentialStore: the table and JSON never show a token, revoke's
 * exit codes, usage and configuration errors, a wrong key, a Redis store, and
 * writers in two processes sharing one file without losing an update.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileCredentialStore } from '../../src/credentials/store/file.js';
import { RedisCredentialStore } from '../../src/credentials/store/redis.js';
import type { UserCredential } from '../../src/credentials/store.js';
import { silentLogger } from '../../src/observability/log.js';
import { ROOT } from '../helpers/gateway.js';
import { cliEnv, freePort, runCli, waitForExit } from '../helpers/processes.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';

const KEY = 'integration-test-credentials-key-0123456789';
const env = cliEnv({ SWITCHBOARD_CREDENTIALS_KEY: KEY });
const HOUR = 3_600_000;

let base: string;
let seq = 0;

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'switchboard-credcli-'));
});
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

/** Principal ids as the gateway stores them: namespaced by credential kind (src/auth/principal.ts). */
const ALICE = 'apikey:alice';
const BOB = 'jwt:https://idp.example.com#bob';

const cred = (principal: string, server: string, extra: Partial<UserCredential> = {}): UserCredential => ({
  principal,
  server,
  accessToken: `AT-${principal}-${server}-TOPSECRET`,
  refreshToken: `RT-${principal}-${server}-TOPSECRET`,
  tokenType: 'Bearer',
  obtainedAt: Date.UTC(2025, 0, 31, 14, 5),
  expiresAt: Date.now() + HOUR,
  subject: `${principal}-upstream-id`,
  clientSecret: 'CLIENT-TOPSECRET',
  ...extra,
});

/** A working directory with switchboard.json; `gateway.credentials` as given (null: absent). */
function workdir(credentials: unknown = { key: '${SWITCHBOARD_CREDENTIALS_KEY}', store: { type: 'file', path: './state/credentials.json' } }): {
  dir: string;
  config: string;
  file: string;
} {
  const dir = mkdtempSync(path.join(base, `cwd-${seq++}-`));
  const config = path.join(dir, 'switchboard.json');
  const gateway = credentials === null ? {} : { credentials };
  writeFileSync(config, JSON.stringify({ mcpServers: {}, gateway }, null, 2));
  return { dir, config, file: path.join(dir, 'state/credentials.json') };
}

async function filled(): Promise<ReturnType<typeof workdir> & { store: FileCredentialStore }> {
  const w = workdir();
  const store = new FileCredentialStore(w.file, KEY);
  await store.put(cred(ALICE, 'github', { subject: 'alice-upstream-id' }));
  await store.put(cred(ALICE, 'jira', { refreshToken: undefined, expiresAt: undefined, subject: undefined }));
  await store.put(cred(BOB, 'github', { expiresAt: Date.now() - HOUR, subject: 'bob-upstream-id' }));
  return { ...w, store };
}

const noSecrets = (text: string) => expect(text).not.toMatch(/TOPSECRET/);

describe('switchboard credentials list', () => {
  it('prints a table of principal, server, subject, obtained, expires, refreshable; never a token', async () => {
    const { dir } = await filled();
    const r = await runCli(['credentials', 'list'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PRINCIPAL\s+SERVER\s+SUBJECT\s+OBTAINED\s+EXPIRES\s+REFRESHABLE$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^apikey:alice\s+github\s+alice-upstream-id\s+2025-01-31 14:05Z\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+yes$/);
    expect(lines[2]).toMatch(/^apikey:alice\s+jira\s+-\s+2025-01-31 14:05Z\s+unknown\s+no$/);
    expect(lines[3]).toMatch(/^jwt:https:\/\/idp\.example\.com#bob\s+github\s+bob-upstream-id\s+.*\(expired\)\s+yes$/);
  });

  it('--principal filters, --json prints summaries', async () => {
    const { dir, config } = await filled();
    const r = await runCli(['credentials', 'list', '--config', config, '--principal', ALICE, '--json'], { cwd: base, env });
    expect(r.code, r.stderr).toBe(0);
    noSecrets(r.stdout + r.stderr);
    const json = JSON.parse(r.stdout) as { credentials: Record<string, unknown>[] };
    expect(json.credentials).toEqual([
      {
        principal: ALICE,
        server: 'github',
        subject: 'alice-upstream-id',
        obtainedAt: Date.UTC(2025, 0, 31, 14, 5),
        expiresAt: expect.any(Number),
        refreshable: true,
      },
      { principal: ALICE, server: 'jira', obtainedAt: Date.UTC(2025, 0, 31, 14, 5), refreshable: false },
    ]);
    const none = await runCli(['credentials', 'list', '--principal=carol'], { cwd: dir, env });
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no stored credentials for principal "carol"');
    // A bare id is matched as it is, and finds nothing since ids are namespaced: the CLI says what to write.
    expect(none.stderr).toContain('did you mean "apikey:carol"');
    const bare = await runCli(['credentials', 'list', '--principal', 'alice', '--json'], { cwd: dir, env });
    expect(JSON.parse(bare.stdout)).toEqual({ credentials: [] });
  });

  it('an empty or not yet created store lists nothing, and creates no file', async () => {
    const { dir, file } = workdir();
    const r = await runCli(['credentials', 'list', '--json'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ credentials: [] });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(path.dirname(file))).toBe(false);
  });
});

describe('switchboard credentials revoke', () => {
  it('removes one credential (exit 0), then has nothing to remove (exit 1)', async () => {
    const { dir, file, store } = await filled();
    const r = await runCli(['credentials', 'revoke', '--principal', ALICE, '--server', 'github'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('revoked the credential of "apikey:alice" for server "github"');
    noSecrets(r.stdout + r.stderr);
    // The gateway's store instance sees it gone; the others are intact.
    expect(await store.get(ALICE, 'github')).toBeUndefined();
    expect((await store.list()).map((s) => `${s.principal}/${s.server}`)).toEqual([`${ALICE}/jira`, `${BOB}/github`]);
    noSecrets(readFileSync(file, 'utf8'));

    const again = await runCli(['credentials', 'revoke', '--principal', ALICE, '--server', 'github'], { cwd: dir, env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('nothing to revoke');
    expect(again.stderr).not.toContain('did you mean');
    const never = await runCli(['credentials', 'revoke', '--principal', 'zoe', '--server', 'github'], { cwd: workdir().dir, env });
    expect(never.code).toBe(1);
  });
});

describe('switchboard credentials: errors', () => {
  it('usage errors exit 2; --help exits 0', async () => {
    const { dir } = await filled();
    for (const args of [
      ['credentials'],
      ['credentials', 'frobnicate'],
      ['credentials', 'revoke', '--principal', 'alice'],
      ['credentials', 'revoke', '--server', 'github'],
      ['credentials', 'list', '--bogus'],
      ['credentials', 'list', '--principal'],
      ['credentials', 'list', 'extra'],
      ['credentials', 'list', '--server', 'github'],
    ]) {
      const r = await runCli(args, { cwd: dir, env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('switchboard credentials revoke --principal P --server S');
    }
    const help = await runCli(['credentials', '--help'], { cwd: dir, env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('switchboard credentials list');
    const top = await runCli(['--help'], { cwd: dir, env });
    expect(top.stdout).toContain('switchboard credentials list [--config F] [--principal P] [--json]');
  });

  it('without gateway.credentials, or without a config, it fails (exit 1) and says what is missing', async () => {
    const { dir } = workdir(null);
    for (const sub of [['list'], ['revoke', '--principal', 'a', '--server', 'b']]) {
      const r = await runCli(['credentials', ...sub], { cwd: dir, env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('invalid configuration');
      expect(r.stderr).toContain('gateway.credentials');
    }
    const noConfig = await runCli(['credentials', 'list'], { cwd: mkdtempSync(path.join(base, 'empty-')), env });
    expect(noConfig.code).toBe(1);
    expect(noConfig.stderr).toContain('no configuration file found');
    const missingKey = await runCli(['credentials', 'list'], { cwd: (await filled()).dir, env: cliEnv() });
    expect(missingKey.code).toBe(1);
  });

  it('a wrong key is reported clearly (exit 1) and the file is left alone', async () => {
    const { dir, file } = await filled();
    const before = readFileSync(file, 'utf8');
    const wrongEnv = cliEnv({ SWITCHBOARD_CREDENTIALS_KEY: 'some-other-key-of-enough-length' });
    for (const sub of [['list'], ['revoke', '--principal', 'alice', '--server', 'github']]) {
      const r = await runCli(['credentials', ...sub], { cwd: dir, env: wrongEnv });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('cannot decrypt the credential store: wrong gateway.credentials.key?');
      expect(r.stderr).not.toContain('    at ');
    }
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});

describe('switchboard credentials with a Redis store', () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('lists and revokes, and an unreachable server fails within seconds', async () => {
    const prefix = 'cli:cred:';
    const store = new RedisCredentialStore({ url: redis.url, prefix, key: KEY }, silentLogger);
    try {
      await store.put(cred('alice', 'github'));
      await store.put(cred('bob', 'jira'));
      const { dir } = workdir({ key: '${SWITCHBOARD_CREDENTIALS_KEY}', store: { type: 'redis', url: redis.url, prefix } });
      const list = await runCli(['credentials', 'list'], { cwd: dir, env });
      expect(list.code, list.stderr).toBe(0);
      noSecrets(list.stdout + list.stderr);
      expect(list.stdout).toMatch(/^alice\s+github/m);
      expect(list.stdout).toMatch(/^bob\s+jira/m);
      const revoke = await runCli(['credentials', 'revoke', '--principal', 'bob', '--server', 'jira'], { cwd: dir, env });
      expect(revoke.code, revoke.stderr).toBe(0);
      expect(await store.get('bob', 'jira')).toBeUndefined();
      expect(await store.get('alice', 'github')).toBeDefined();
    } finally {
      await store.close();
    }
    const down = workdir({ key: '${SWITCHBOARD_CREDENTIALS_KEY}', store: { type: 'redis', url: `redis://:pw-secret@127.0.0.1:${await freePort()}`, prefix } });
    const started = Date.now();
    const r = await runCli(['credentials', 'list'], { cwd: down.dir, env });
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(r.stderr).toContain('unreachable');
    expect(r.stderr).not.toContain('pw-secret');
  });
});

describe('two processes on one credential file', () => {
  it('writes from another process, and revokes meanwhile, lose nothing', async () => {
    const { dir, file } = workdir();
    const storeModule = pathToFileURL(path.join(ROOT, 'dist/credentials/store/file.js')).href;
    // Another process (a second gateway) writes 40 credentials through the built store.
    const script = `
      const { FileCredentialStore } = await import(${JSON.stringify(storeModule)});
      const store = new FileCredentialStore(${JSON.stringify(file)}, ${JSON.stringify(KEY)});
      for (let i = 0; i < 40; i++) {
        await store.put({ principal: 'child' + i, server: 'github', accessToken: 'AT-child-TOPSECRET', tokenType: 'Bearer', obtainedAt: Date.now() });
      }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let childErr = '';
    child.stderr.on('data', (d: Buffer) => (childErr += d.toString()));
    // Meanwhile this process writes 40 more, and the CLI revokes one of them.
    const here = new FileCredentialStore(file, KEY);
    for (let i = 0; i < 40; i++) await here.put(cred(`parent${i}`, 'github'));
    const revoked = await runCli(['credentials', 'revoke', '--principal', 'parent0', '--server', 'github'], { cwd: dir, env });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await waitForExit(child, 20_000), childErr).toBe(0);
    const all = await here.list();
    expect(all.filter((s) => s.principal.startsWith('child'))).toHaveLength(40);
    expect(all.filter((s) => s.principal.startsWith('parent'))).toHaveLength(39);
    noSecrets(readFileSync(file, 'utf8'));
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});
