/**
 * ArgumentValidators: a tool's input schema compiled into a check of call
 * arguments (2020-12, or draft-07 when the schema says so); a schema that
 * cannot be compiled yields a check that always fails.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ArgumentValidators } from '../../../src/contracts/arguments.js';

const WRITE_FILE = {
  type: 'object',
  properties: {
    path: { type: 'string', pattern: '^/' },
    content: { type: 'string' },
    mode: { type: 'string', enum: ['overwrite', 'append'] },
    dryRun: { type: 'boolean' },
  },
  required: ['path', 'content'],
  additionalProperties: false,
};

let validators: ArgumentValidators;
beforeEach(() => {
  validators = new ArgumentValidators();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('a compiled check', () => {
  it('passes arguments that match', () => {
    const check = validators.compile(WRITE_FILE);
    expect(check({ path: '/a', content: 'x' })).toEqual([]);
    expect(check({ path: '/a', content: 'x', mode: 'append', dryRun: true })).toEqual([]);
  });

  it.each([
    ['a number where a string is expected', { path: 42, content: 'x' }, { path: '/path', message: 'must be string' }],
    ['a list where a string is expected', { path: ['/a', '/b'], content: 'x' }, { path: '/path', message: 'must be string' }],
    ['an object where a string is expected', { path: { toString: '/a' }, content: 'x' }, { path: '/path', message: 'must be string' }],
    ['a string where a boolean is expected', { path: '/a', content: 'x', dryRun: 'true' }, { path: '/dryRun', message: 'must be boolean' }],
    ['an extra property', { path: '/a', content: 'x', recursive: true }, { path: '', message: 'must not have property "recursive"' }],
    ['a missing required property', { path: '/a' }, { path: '', message: 'must have property "content"' }],
    ['a value outside the enum', { path: '/a', content: 'x', mode: 'truncate' }, { path: '/mode', message: 'must be equal to one of the allowed values' }],
    ['a string not matching its pattern', { path: 'relative', content: 'x' }, { path: '/path', message: 'must match pattern "^/"' }],
  ])('refuses %s, pointing at it', (_what, args, problem) => {
    expect(validators.compile(WRITE_FILE)(args)).toEqual([problem]);
  });

  it('points into nested values with a JSON Pointer', () => {
    const check = validators.compile({
      type: 'object',
      properties: { files: { type: 'array', items: { type: 'object', properties: { 'a/b': { type: 'integer' } } } } },
    });
    expect(check({ files: [{ 'a/b': 1 }, { 'a/b': 'x' }] })).toEqual([{ path: '/files/1/a~1b', message: 'must be integer' }]);
  });

  it('reports at most five problems', () => {
    const check = validators.compile({ type: 'object', required: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
    expect(check({}).length).toBeGreaterThan(0);
    expect(check({}).length).toBeLessThanOrEqual(5);
  });

  it('can be called again and again (no state kept between calls)', () => {
    const check = validators.compile(WRITE_FILE);
    expect(check({ path: 1, content: 'x' })).toHaveLength(1);
    expect(check({ path: '/a', content: 'x' })).toEqual([]);
    expect(check({ path: 1, content: 'x' })).toHaveLength(1);
  });

  it('ignores keywords and formats it does not know (the lock review judges the schema, not Ajv)', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const check = validators.compile({
      type: 'object',
      properties: { email: { type: 'string', format: 'email' }, note: { type: 'string', 'x-vendor': true } },
    });
    expect(check({ email: 'not an email', note: 'n' })).toEqual([]);
    expect(check({ email: 1 })).toEqual([{ path: '/email', message: 'must be string' }]);
  });
});

describe('dialects', () => {
  const TUPLE_07 = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { pair: { type: 'array', items: [{ type: 'string' }, { type: 'number' }], additionalItems: false } },
  };

  it('validates a draft-07 schema (it declares $schema) with draft-07 semantics', () => {
    const check = validators.compile(TUPLE_07);
    expect(check({ pair: ['a', 1] })).toEqual([]);
    expect(check({ pair: ['a', 'b'] })).toEqual([{ path: '/pair/1', message: 'must be number' }]);
    expect(check({ pair: ['a', 1, 2] })).toHaveLength(1);
  });

  it('also reads a draft-07 $schema written with https and without the fragment', () => {
    const check = validators.compile({ ...TUPLE_07, $schema: 'https://json-schema.org/draft-07/schema' });
    expect(check({ pair: ['a', 'b'] })).toEqual([{ path: '/pair/1', message: 'must be number' }]);
  });

  it('validates draft-07 dependencies', () => {
    const check = validators.compile({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', dependencies: { from: ['to'] } });
    expect(check({ from: 1, to: 2 })).toEqual([]);
    expect(check({ from: 1 })).toHaveLength(1);
  });

  it('validates a schema without $schema, or with 2020-12, as 2020-12', () => {
    for (const $schema of [undefined, 'https://json-schema.org/draft/2020-12/schema']) {
      const check = validators.compile({
        ...($schema ? { $schema } : {}),
        type: 'object',
        properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false } },
      });
      expect(check({ pair: ['a', 1] })).toEqual([]);
      expect(check({ pair: ['a', 'b'] })).toEqual([{ path: '/pair/1', message: 'must be number' }]);
      expect(check({ pair: ['a', 1, 2] })).toHaveLength(1);
    }
  });

  it('uses both dialects side by side in one instance', () => {
    const modern = validators.compile({ type: 'object', properties: { a: { type: 'string' } } });
    const legacy = validators.compile({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { a: { type: 'number' } } });
    expect(modern({ a: 1 })).toEqual([{ path: '/a', message: 'must be string' }]);
    expect(legacy({ a: 'x' })).toEqual([{ path: '/a', message: 'must be number' }]);
  });
});

describe('schemas that cannot be used', () => {
  it.each([
    ['an unknown type', { type: 'object', properties: { a: { type: 'text' } } }],
    ['a dangling $ref', { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }],
    [
      'a draft-07 tuple without $schema (2020-12 items must be a schema)',
      { type: 'object', properties: { p: { type: 'array', items: [{ type: 'string' }] } } },
    ],
    ['a pattern that is not a regular expression', { type: 'object', properties: { a: { type: 'string', pattern: '(' } } }],
  ])('%s: a check that always fails, saying why', (_what, schema) => {
    const check = validators.compile(schema);
    for (const args of [{}, { a: 'x' }, { p: ['x'] }]) {
      const problems = check(args);
      expect(problems).toHaveLength(1);
      expect(problems[0]?.path).toBe('');
      expect(problems[0]?.message).toMatch(/^the tool's input schema cannot be used to validate \(.+\)$/);
    }
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an array', [{ type: 'object' }]],
    ['a string', 'object'],
    ['a boolean', true],
  ])('%s as a schema: a check that always fails', (_what, schema) => {
    expect(validators.compile(schema)({})).toEqual([{ path: '', message: 'the tool has no usable input schema' }]);
  });

  it('does not break the instance: later schemas still compile', () => {
    validators.compile({ type: 'object', properties: { a: { $ref: '#/nowhere' } } });
    expect(validators.compile(WRITE_FILE)({ path: '/a', content: 'x' })).toEqual([]);
  });
});

describe('$id', () => {
  it('compiles two different schemas with the same $id, each validating by its own rules', () => {
    const one = validators.compile({ $id: 'https://example.com/args', type: 'object', properties: { a: { type: 'string' } } });
    const two = validators.compile({ $id: 'https://example.com/args', type: 'object', properties: { a: { type: 'number' } } });
    expect(one({ a: 'x' })).toEqual([]);
    expect(one({ a: 1 })).toEqual([{ path: '/a', message: 'must be string' }]);
    expect(two({ a: 1 })).toEqual([]);
    expect(two({ a: 'x' })).toEqual([{ path: '/a', message: 'must be number' }]);
  });

  it('compiles the same schema object twice, and draft-07 schemas sharing an $id', () => {
    const schema = { $id: 'urn:example:args', type: 'object', properties: { a: { type: 'string' } } };
    expect(validators.compile(schema)({ a: 1 })).toEqual([{ path: '/a', message: 'must be string' }]);
    expect(validators.compile(schema)({ a: 1 })).toEqual([{ path: '/a', message: 'must be string' }]);
    const d7 = (type: string) => ({
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'https://example.com/d7',
      type: 'object',
      properties: { a: { type } },
    });
    expect(validators.compile(d7('string'))({ a: 1 })).toEqual([{ path: '/a', message: 'must be string' }]);
    expect(validators.compile(d7('number'))({ a: 1 })).toEqual([]);
  });

  it('resolves $ref against the schema’s own $id and $defs', () => {
    const make = (type: string) => ({
      $id: 'https://example.com/refs',
      $defs: { value: { type } },
      type: 'object',
      properties: { a: { $ref: '#/$defs/value' } },
    });
    expect(validators.compile(make('string'))({ a: 1 })).toEqual([{ path: '/a', message: 'must be string' }]);
    expect(validators.compile(make('number'))({ a: 1 })).toEqual([]);
  });

  it('compiles a schema whose $id an earlier, failed compile used', () => {
    const broken = validators.compile({ $id: 'https://example.com/broken', type: 'object', properties: { a: { type: 'nope' } } });
    expect(broken({ a: 'x' })[0]?.message).toContain('type must be JSONType');
    const fixed = validators.compile({ $id: 'https://example.com/broken', type: 'object', properties: { a: { type: 'string' } } });
    expect(fixed({ a: 'x' })).toEqual([]);
    expect(fixed({ a: 1 })).toEqual([{ path: '/a', message: 'must be string' }]);
  });
});
