/**
 * Checks a tool call's arguments against the tool's input schema (the
 * approved one when the contract is pinned) before the policy decides, so a
 * rule over `args.path` can rely on it being what the schema says — not a
 * number, a list or an object that a condition misreads. "enforce" refuses
 * (ARGUMENTS_INVALID, -32602); "warn" lets the call on and records the problems.
 */
import type { Catalog } from '../catalog/catalog.js';
import { argumentsInvalid } from '../core/errors.js';
import type { Stage } from './chain.js';

export function validateArguments(catalog: Catalog, counted: (server: string, outcome: 'refused' | 'warned') => void): Stage {
  return {
    name: 'validate-arguments',
    run(ctx) {
      if (ctx.method !== 'tools/call') return;
      const mode = catalog.argumentValidation;
      const contract = ctx.target?.contract;
      if (mode === 'off' || !contract) return;
      const check = catalog.argumentCheck(contract);
      if (!check) return;
      const args = (ctx.forwarded?.arguments as Record<string, unknown> | undefined) ?? {};
      const problems = check(args);
      if (problems.length === 0) return;
      const server = ctx.target!.upstream.name;
      if (mode === 'warn') {
        ctx.argumentProblems = problems;
        counted(server, 'warned');
        return;
      }
      counted(server, 'refused');
      throw argumentsInvalid({ server, tool: ctx.target!.exposed, problems });
    },
  };
}
