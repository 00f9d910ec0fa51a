import { describe, expect, it } from 'vitest';
import { diffSchemas, type SchemaChange } from '../../../src/contracts/schema-diff.js';

/** An object schema with the given properties. */
function object(properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'object', properties, ...extra };
}

/** The one change between a property "x" of schema `before` and of schema `after`. */
function propertyChange(before: Record<string, unknown>, after: Record<string, unknown>): SchemaChange | undefined {
  const changes = diffSchemas(object({ x: before }), object({ x: after }));
  expect(changes).toHaveLength(1);
  return changes[0];
}

describe('diffSchemas', () => {
  it('finds nothing between schemas that differ only in key order', () => {
    const approved = { type: 'object', properties: { a: { type: 'string', maxLength: 5 } }, required: ['a'] };
    const live = { required: ['a'], properties: { a: { maxLength: 5, type: 'string' } }, type: 'object' };
    expect(diffSchemas(approved, live)).toEqual([]);
  });

  describe('properties', () => {
    it('a new property widens: the caller can now send it', () => {
      expect(diffSchemas(object({}), object({ mode: { type: 'string' } }))).toEqual([
        { path: 'properties.mode', change: 'property-added', after: { type: 'string' }, widens: true },
      ]);
    });

    it('a removed property does not widen', () => {
      expect(diffSchemas(object({ mode: { type: 'string' } }), object({}))).toEqual([
        { path: 'properties.mode', change: 'property-removed', before: { type: 'string' }, widens: false },
      ]);
    });

    it('walks into nested properties', () => {
      const approved = object({ opts: object({ depth: { type: 'integer' } }) });
      const live = object({ opts: object({ depth: { type: 'integer' }, mode: { type: 'string' } }) });
      expect(diffSchemas(approved, live)).toEqual([
        { path: 'properties.opts.properties.mode', change: 'property-added', after: { type: 'string' }, widens: true },
      ]);
    });

    it('reads property names such as "constructor" and "__proto__" as plain names', () => {
      const live = JSON.parse('{"type":"object","properties":{"constructor":{"type":"string"},"__proto__":{"type":"string"}}}');
      expect(diffSchemas(object({}), live).map((change) => change.path)).toEqual(['properties.__proto__', 'properties.constructor']);
    });
  });

  describe('required', () => {
    it('a name no longer required widens', () => {
      expect(diffSchemas(object({}, { required: ['path', 'mode'] }), object({}, { required: ['mode'] }))).toEqual([
        { path: 'required', change: 'required-removed', before: 'path', widens: true },
      ]);
    });

    it('a newly required name narrows', () => {
      expect(diffSchemas(object({}, { required: [] }), object({}, { required: ['path'] }))).toEqual([
        { path: 'required', change: 'required-added', after: 'path', widens: false },
      ]);
    });

    it('reports a nested required list at its own path', () => {
      const approved = object({ opts: object({}, { required: ['a'] }) });
      const live = object({ opts: object({}) });
      expect(diffSchemas(approved, live)).toEqual([{ path: 'properties.opts.required', change: 'required-removed', before: 'a', widens: true }]);
    });

    it('a reordered required list is no structural change', () => {
      expect(diffSchemas(object({}, { required: ['a', 'b'] }), object({}, { required: ['b', 'a'] }))).toEqual([]);
    });
  });

  describe('type', () => {
    it.each([
      ['string', ['string', 'number'], true],
      ['integer', 'number', true],
      ['string', 'boolean', true],
      ['string', undefined, true],
      [['string', 'number'], 'string', false],
      ['number', 'integer', false],
      [undefined, 'string', false],
    ])('%j → %j widens: %s', (before, after, widens) => {
      expect(propertyChange({ type: before }, { type: after })).toMatchObject({ path: 'properties.x.type', change: 'type-changed', widens });
    });

    it('the same types in another order or spelling are no change', () => {
      expect(diffSchemas({ type: ['string', 'number'] }, { type: ['number', 'string'] })).toEqual([]);
      expect(diffSchemas({ type: 'string' }, { type: ['string'] })).toEqual([]);
    });
  });

  describe('enum and const', () => {
    it('an enum that gains a value widens', () => {
      expect(propertyChange({ enum: ['a', 'b'] }, { enum: ['a', 'b', 'c'] })).toMatchObject({ change: 'enum-widened', widens: true });
    });

    it('an enum that loses a value narrows', () => {
      expect(propertyChange({ enum: ['a', 'b'] }, { enum: ['a'] })).toMatchObject({ change: 'enum-narrowed', widens: false });
    });

    it('an enum that both gains and loses widens', () => {
      expect(propertyChange({ enum: ['a', 'b'] }, { enum: ['a', 'c'] })).toMatchObject({ change: 'enum-widened', widens: true });
    });

    it('an enum dropped widens, one added narrows, one reordered is no change', () => {
      expect(propertyChange({ enum: ['a'] }, {})).toMatchObject({ change: 'enum-widened', widens: true });
      expect(propertyChange({}, { enum: ['a'] })).toMatchObject({ change: 'enum-narrowed', widens: false });
      expect(diffSchemas({ enum: ['a', 'b'] }, { enum: ['b', 'a'] })).toEqual([]);
    });

    it('compares enum values as canonical JSON', () => {
      expect(diffSchemas({ enum: [{ a: 1, b: 2 }] }, { enum: [{ b: 2, a: 1 }] })).toEqual([]);
    });

    it('a const removed or changed widens, one added does not', () => {
      expect(propertyChange({ const: 'a' }, {})).toMatchObject({ path: 'properties.x.const', change: 'other', widens: true });
      expect(propertyChange({ const: 'a' }, { const: 'b' })).toMatchObject({ change: 'other', widens: true });
      expect(propertyChange({}, { const: 'a' })).toMatchObject({ change: 'other', widens: false });
    });
  });

  describe('pattern and format', () => {
    it.each(['pattern', 'format'])('%s removed or changed widens, added narrows', (keyword) => {
      expect(propertyChange({ [keyword]: 'a' }, {})).toMatchObject({ path: `properties.x.${keyword}`, change: 'pattern-removed', widens: true });
      expect(propertyChange({ [keyword]: 'a' }, { [keyword]: 'b' })).toMatchObject({ change: 'pattern-changed', widens: true });
      expect(propertyChange({}, { [keyword]: 'a' })).toMatchObject({ change: 'pattern-added', widens: false });
    });
  });

  describe('additionalProperties', () => {
    it.each([
      [false, true],
      [false, undefined],
      [false, { type: 'string' }],
      [{ type: 'string' }, true],
    ])('%j → %j widens', (before, after) => {
      expect(diffSchemas(object({}, { additionalProperties: before }), object({}, { additionalProperties: after }))).toEqual([
        expect.objectContaining({ path: 'additionalProperties', change: 'additional-properties-widened', widens: true }),
      ]);
    });

    it.each([
      [true, false],
      [undefined, false],
      [undefined, { type: 'string' }],
      [{ type: 'string' }, false],
    ])('%j → %j narrows', (before, after) => {
      expect(diffSchemas(object({}, { additionalProperties: before }), object({}, { additionalProperties: after }))).toEqual([
        expect.objectContaining({ change: 'additional-properties-narrowed', widens: false }),
      ]);
    });

    it('absent and true are the same', () => {
      expect(diffSchemas(object({}), object({}, { additionalProperties: true }))).toEqual([]);
    });

    it('walks into a schema on both sides', () => {
      const changes = diffSchemas(object({}, { additionalProperties: { type: 'string' } }), object({}, { additionalProperties: { type: ['string', 'null'] } }));
      expect(changes).toEqual([expect.objectContaining({ path: 'additionalProperties.type', change: 'type-changed', widens: true })]);
    });
  });

  describe('bounds', () => {
    it.each(['maxLength', 'maximum', 'maxItems'])('%s raised or removed relaxes (widens), lowered or added tightens', (keyword) => {
      expect(propertyChange({ [keyword]: 5 }, { [keyword]: 10 })).toMatchObject({ path: `properties.x.${keyword}`, change: 'bound-relaxed', widens: true });
      expect(propertyChange({ [keyword]: 5 }, {})).toMatchObject({ change: 'bound-relaxed', widens: true });
      expect(propertyChange({ [keyword]: 10 }, { [keyword]: 5 })).toMatchObject({ change: 'bound-tightened', widens: false });
      expect(propertyChange({}, { [keyword]: 5 })).toMatchObject({ change: 'bound-tightened', widens: false });
    });

    it.each(['minLength', 'minimum', 'minItems'])('%s lowered or removed relaxes (widens), raised or added tightens', (keyword) => {
      expect(propertyChange({ [keyword]: 5 }, { [keyword]: 1 })).toMatchObject({ change: 'bound-relaxed', widens: true });
      expect(propertyChange({ [keyword]: 5 }, {})).toMatchObject({ change: 'bound-relaxed', widens: true });
      expect(propertyChange({ [keyword]: 1 }, { [keyword]: 5 })).toMatchObject({ change: 'bound-tightened', widens: false });
      expect(propertyChange({}, { [keyword]: 1 })).toMatchObject({ change: 'bound-tightened', widens: false });
    });

    it('a bound that is not a number is read conservatively', () => {
      expect(propertyChange({ exclusiveMaximum: true, maximum: 5 }, { exclusiveMaximum: false, maximum: 5 })).toMatchObject({ change: 'other', widens: true });
    });
  });

  describe('items and definitions', () => {
    it('walks into an items schema', () => {
      const approved = object({ tags: { type: 'array', items: { type: 'string' } } });
      const live = object({ tags: { type: 'array', items: { type: ['string', 'number'] } } });
      expect(diffSchemas(approved, live)).toEqual([expect.objectContaining({ path: 'properties.tags.items.type', widens: true })]);
    });

    it('items dropped widens, items added narrows', () => {
      expect(propertyChange({ items: { type: 'string' } }, {})).toMatchObject({ path: 'properties.x.items', change: 'other', widens: true });
      expect(propertyChange({}, { items: { type: 'string' } })).toMatchObject({ change: 'other', widens: false });
    });

    it.each(['$defs', 'definitions'])('walks into %s, and a new definition widens to be safe', (keyword) => {
      const approved = { [keyword]: { A: object({}) } };
      expect(diffSchemas(approved, { [keyword]: { A: object({ b: {} }) } })).toEqual([
        expect.objectContaining({ path: `${keyword}.A.properties.b`, widens: true }),
      ]);
      expect(diffSchemas(approved, { [keyword]: { A: object({}), B: {} } })).toEqual([
        expect.objectContaining({ path: `${keyword}.B`, change: 'other', widens: true }),
      ]);
      expect(diffSchemas(approved, {})).toEqual([expect.objectContaining({ path: `${keyword}.A`, change: 'other', widens: false })]);
    });
  });

  describe('other keywords', () => {
    it('a changed anyOf is "other" and widens (unknown changes are read conservatively)', () => {
      expect(propertyChange({ anyOf: [{ type: 'string' }] }, { anyOf: [{ type: 'string' }, { type: 'number' }] })).toMatchObject({
        path: 'properties.x.anyOf',
        change: 'other',
        widens: true,
      });
    });

    it('a changed description or title does not widen: it does not change what validates', () => {
      expect(propertyChange({ description: 'old' }, { description: 'new' })).toEqual({
        path: 'properties.x.description',
        change: 'other',
        before: 'old',
        after: 'new',
        widens: false,
      });
    });

    it('a schema that is not an object is compared whole, conservatively', () => {
      expect(diffSchemas(true, { type: 'string' })).toEqual([{ path: '', change: 'other', before: true, after: { type: 'string' }, widens: true }]);
    });

    it('stops walking at depth 32 and reports one conservative change there', () => {
      const nest = (depth: number, leaf: unknown): unknown => (depth === 0 ? leaf : object({ n: nest(depth - 1, leaf) }));
      const changes = diffSchemas(nest(40, { type: 'string' }), nest(40, { type: 'number' }));
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ change: 'other', widens: true });
      expect(changes[0]!.path.split('.')).toHaveLength(64);
    });
  });
});
