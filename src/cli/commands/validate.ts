/** `switchboard validate`: loads the configuration, its policies and its contract lock, and says what it found (exit 1 if invalid). */
import { createPolicyEngine } from '../../app/policy-runtime.js';
import { findConfigFile } from '../../config/find.js';
import { loadConfigFile } from '../../config/load.js';
import type { LoadedConfig } from '../../config/schema/index.js';
import { PARENT_CONFIG_ENV, refuseParentLoop } from '../../config/self-launch.js';
import { countEntries, readLock } from '../../contracts/lock.js';
import { ConfigError, formatIssues } from '../../core/errors.js';
import type { ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';

export function validateCommand(args: ParsedArgs): number {
  const { config, loop } = load(args.flags.config);
  // Policies are part of the configuration: a broken rule fails validation too.
  const policy = createPolicyEngine(config);
  const enabled = config.servers.filter((s) => s.enabled);
  const disabled = config.servers.length - enabled.length;
  process.stderr.write(
    `${config.file}: valid (${enabled.length} server(s) enabled, ${disabled > 0 ? `${disabled} disabled, ` : ''}${config.skipped.length} skipped)\n`,
  );
  process.stderr.write(`${config.gateway.policies || 'no policy directory'}: ${policy.ruleIds.length} rule(s)\n`);
  if (config.gateway.pinning.mode !== 'off' || config.servers.some((s) => s.pinning.mode !== 'off')) {
    // The lock is part of the configuration when pinning is on: a hand-edited or broken lock fails validation.
    const lock = readLock(config.gateway.pinning.lock);
    if (lock) process.stderr.write(`${config.gateway.pinning.lock}: ${countEntries(lock)} pinned contract(s)\n`);
    else
      process.stderr.write(
        `warning: pinning is on but ${config.gateway.pinning.lock} does not exist: nothing is approved\n  fix: run \`switchboard pin\` and commit the lock\n`,
      );
  }
  if (loop) process.stderr.write(`warning: ${loop}\n`);
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
  for (const w of policy.warnings) process.stderr.write(`warning: ${w.file} ${w.path}: ${w.message}${w.fix ? `\n  fix: ${w.fix}` : ''}\n`);
  return 0;
}

/**
 * The file is validated even under a gateway that runs on it (validating starts
 * nothing): that a gateway started here would refuse is a warning.
 */
function load(flag: string | undefined): { config: LoadedConfig; loop?: string } {
  const file = findConfigFile({ cwd: process.cwd(), env: process.env, explicit: flag });
  if (file === undefined) return { config: loadConfigFromFlag(flag) };
  const { [PARENT_CONFIG_ENV]: marker, ...env } = process.env;
  const config = loadConfigFile(file, env);
  try {
    refuseParentLoop(file, { [PARENT_CONFIG_ENV]: marker });
    return { config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { config, loop: `a gateway started from here would refuse: ${formatIssues(err.issues)}` };
  }
}
