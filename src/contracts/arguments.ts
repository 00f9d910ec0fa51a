/**
 * Validating tools/call arguments against a tool's input schema with Ajv,
 * compiled once per contract. JSON Schema 2020-12 unless the schema declares
 * an older draft (MCP servers built on zod-to-json-schema still say draft-07);
 * unknown keywords and formats are ignored (`strict: false`), because an
 * upstream's schema is not ours to reject — the lock review is. Ajv's own
 * console warnings are off: the gateway logs through its logger only.
 * (Draft-04 schemas are compiled as draft-07; one using draft-04's boolean
 * exclusiveMaximum does not compile, and its calls are refused.)
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';

export interface ArgumentProblem {
  /** JSON Pointer into the arguments ('' for the whole object). */
  path: string;
  message: string;
}

/** Checks one call's arguments: the problems (at most a few), or none. */
export type ArgumentCheck = (args: Record<string, unknown>) => ArgumentProblem[];

const MAX_PROBLEMS = 5;

/** One per guard: Ajv keeps per-instance state, and two gateways share nothing. */
export class ArgumentValidators {
  private modern?: Ajv2020;
  private legacy?: Ajv;

  /**
   * Compiles `schema` into a check. A schema that does not compile yields a
   * check that always fails: arguments the gateway cannot validate are not
   * passed as valid.
   */
  compile(schema: unknown): ArgumentCheck {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return () => [{ path: '', message: 'the tool has no usable input schema' }];
    const ajv = this.instanceFor(schema as Record<string, unknown>);
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      return () => [{ path: '', message: `the tool's input schema cannot be used to validate (${reason})` }];
    } finally {
      // Compiled functions keep what they need; the instance's schema cache
      // must not grow with every list refresh (or collide on a reused $id).
      ajv.removeSchema(schema as object);
    }
    return (args) => (validate(args) ? [] : problemsOf(validate.errors ?? []));
  }

  private instanceFor(schema: Record<string, unknown>): Ajv | Ajv2020 {
    const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
    if (/draft-0[4-7]/.test(declared)) return (this.legacy ??= new Ajv({ strict: false, validateSchema: false, allErrors: false, logger: false }));
    return (this.modern ??= new Ajv2020({ strict: false, validateSchema: false, allErrors: false, logger: false }));
  }
}

function problemsOf(errors: ErrorObject[]): ArgumentProblem[] {
  return errors.slice(0, MAX_PROBLEMS).map((e) => ({ path: e.instancePath, message: describe(e) }));
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `must not have property "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'required') return `must have property "${(e.params as { missingProperty: string }).missingProperty}"`;
  return e.message ?? e.keyword;
}
