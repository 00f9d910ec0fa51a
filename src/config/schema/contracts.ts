/**
 * `gateway.pinning`, `gateway.scan` and `gateway.validateArguments`: which
 * tool, prompt and resource-template contracts are approved (the lock), what
 * happens to one that is new or drifted, the poisoning lint, and validation
 * of call arguments against the approved input schema.
 */
import { z } from 'zod';

const PinningMode = z.enum(['off', 'warn', 'enforce']);
const OnNew = z.enum(['allow', 'quarantine']);
const OnChanged = z.enum(['warn', 'quarantine']);

export const PinningSchema = z
  .strictObject({
    mode: PinningMode.default('off').describe(
      '"off": contracts are not checked; "warn": drift is logged, audited and counted, everything is served; "enforce": an entry not in the lock or different from it is handled by onNew / onChanged.',
    ),
    lock: z.string().min(1).default('./switchboard.lock').describe('The lock file, relative to the config file (YAML, or JSON if it ends in .json).'),
    onNew: OnNew.default('quarantine').describe('enforce: an entry the lock does not have is served ("allow", its annotations untrusted) or quarantined.'),
    onChanged: OnChanged.default('quarantine').describe(
      'enforce: an entry that differs from the lock is quarantined, or served with a warning ("warn": decided with its approved annotations and validated against its approved input schema). A change that widens the input schema or claims safer annotations is quarantined either way.',
    ),
  })
  .describe('Tool contracts: pin what was approved (switchboard pin), quarantine what drifts.');

export const PinningOverrideSchema = z
  .strictObject({ mode: PinningMode.optional(), onNew: OnNew.optional(), onChanged: OnChanged.optional() })
  .describe("This server's pinning settings, over gateway.pinning.");

export const ScanSchema = z
  .strictObject({
    mode: z
      .enum(['off', 'warn', 'quarantine'])
      .default('off')
      .describe(
        'Poisoning lint over every description and schema text: findings are logged, audited and counted ("warn"), or their entry is also quarantined.',
      ),
    severity: z.enum(['low', 'medium', 'high']).default('high').describe('quarantine: the least severity that quarantines an entry.'),
  })
  .describe('Deterministic detectors for poisoned tool descriptions (switchboard scan).');

export const ValidateArgumentsSchema = z
  .enum(['off', 'warn', 'enforce'])
  .optional()
  .describe(
    'Validate tools/call arguments against the input schema (the approved one when pinned) before the policy decision: "enforce" refuses a call that does not match (-32602, data.code ARGUMENTS_INVALID). Default: "enforce" when pinning.mode is "enforce", "warn" when it is "warn", else "off".',
  );

export type PinningMode = z.output<typeof PinningMode>;

/** One server's effective pinning settings (gateway.pinning with its override applied). */
export interface ServerPinning {
  mode: PinningMode;
  onNew: 'allow' | 'quarantine';
  onChanged: 'warn' | 'quarantine';
}

export interface ContractSettings {
  pinning: ServerPinning & { /** Absolute. */ lock: string };
  scan: { mode: 'off' | 'warn' | 'quarantine'; severity: 'low' | 'medium' | 'high' };
  validateArguments: 'off' | 'warn' | 'enforce';
}
