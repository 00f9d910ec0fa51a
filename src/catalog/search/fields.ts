/**
 * What of a tool is searched, field by field: the tool name (split on `__`,
 * `_`, `-`, `.`, camelCase and digits), title, argument names, description
 * and argument descriptions. Tools come from upstreams, so every field is
 * read defensively (a missing or non-string value is empty text).
 */

export interface SearchableTool {
  name: string;
  description?: string;
  title?: string;
  /**
   * Property names and their `description`s are indexed (nested objects and
   * arrays too). Typed loosely so that an SDK `Tool`, whose properties are
   * arbitrary JSON, can be passed as it is.
   */
  inputSchema?: { properties?: Record<string, unknown> };
  /** `annotations.title` stands in for a missing `title`. */
  annotations?: Record<string, unknown>;
}

/** Field indices, in the order of their weights (postings.ts). */
export const NAME = 0;
export const TITLE = 1;
export const ARG_NAME = 2;
export const DESCRIPTION = 3;
export const ARG_DESCRIPTION = 4;
export const FIELDS = 5;

/** Nested schemas (arrays of objects, objects) are indexed down to this depth. */
const MAX_SCHEMA_DEPTH = 3;

/** The searchable texts of one tool. */
export interface ToolTexts {
  name: string;
  title: string;
  description: string;
  argNames: string[];
  argDescriptions: string[];
}

export function toolTexts(tool: SearchableTool): ToolTexts {
  const argNames: string[] = [];
  const argDescriptions: string[] = [];
  collectArguments(tool.inputSchema as LooseSchema | undefined, 0, argNames, argDescriptions);
  return {
    name: typeof tool.name === 'string' ? tool.name : '',
    title: typeof tool.title === 'string' ? tool.title : typeof tool.annotations?.title === 'string' ? (tool.annotations.title as string) : '',
    description: typeof tool.description === 'string' ? tool.description : '',
    argNames,
    argDescriptions,
  };
}

interface LooseSchema {
  description?: unknown;
  properties?: Record<string, LooseSchema>;
  items?: LooseSchema | LooseSchema[];
}

/** Property names and descriptions of an input schema, nested objects and arrays included. */
function collectArguments(schema: LooseSchema | undefined, depth: number, names: string[], descriptions: string[]): void {
  if (!schema || typeof schema !== 'object' || depth > MAX_SCHEMA_DEPTH) return;
  const props = schema.properties;
  if (props && typeof props === 'object') {
    for (const [name, prop] of Object.entries(props)) {
      names.push(name);
      if (prop && typeof prop === 'object') {
        if (typeof prop.description === 'string') descriptions.push(prop.description);
        collectArguments(prop, depth + 1, names, descriptions);
      }
    }
  }
  const items = schema.items;
  if (Array.isArray(items)) for (const item of items) collectArguments(item, depth + 1, names, descriptions);
  else if (items && typeof items === 'object') collectArguments(items, depth + 1, names, descriptions);
}
