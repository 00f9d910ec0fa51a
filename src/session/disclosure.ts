/**
 * Progressive disclosure for large catalogs: instead of hundreds of tools, an
 * endpoint with `disclosure: "search"` lists two of its own. `find_tools`
 * ranks the tools this caller may use through this endpoint against a query;
 * `call_tool` calls one by its exposed name through the very same pipeline as
 * a direct `tools/call` (policy, limits, audit, progress, cancellation and
 * input requests behave identically).
 */
import type { Result, Tool } from '@modelcontextprotocol/server';
import type { Catalog } from '../catalog/catalog.js';
import { ToolIndex } from '../catalog/search.js';
import { GatewayError } from '../core/errors.js';
import type { DecisionMaker } from '../pipeline/authorize.js';
import type { View } from '../pipeline/view.js';
import { visible } from '../pipeline/visible.js';
import type { Viewer } from '../pipeline/context.js';

export const FIND_TOOLS = 'find_tools';
export const CALL_TOOL = 'call_tool';
const MAX_RESULTS = 20;

export const GATEWAY_TOOLS: Tool[] = [
  {
    name: FIND_TOOLS,
    title: 'Find tools',
    description:
      'Search the tools available here by what you want to do. Returns the best-matching tools with their names, descriptions and input schemas; call one with call_tool.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'What you want to do, in plain words (e.g. "open a ticket in jira").' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_RESULTS, description: 'How many tools to return (default 5).' },
      },
      required: ['query'],
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: CALL_TOOL,
    title: 'Call a tool',
    description: 'Call a tool found with find_tools, by its exact name, with its arguments.',
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'The tool name as find_tools returned it.' },
        arguments: { type: 'object', description: "The tool's arguments, as its input schema describes them." },
      },
      required: ['name'],
    },
  },
];

interface BuiltIndex {
  version: number;
  index: ToolIndex;
  tools: Map<string, Tool>;
}

/** One index per view and catalog version: rebuilt when the catalog changes, never per query. One per gateway. */
export class ToolIndexes {
  private readonly byView = new WeakMap<View, BuiltIndex>();

  for(catalog: Catalog, view: View): BuiltIndex {
    const cached = this.byView.get(view);
    if (cached && cached.version === catalog.version) return cached;
    const inView = catalog.routedTools().filter((entry) => view.shows('tools', entry, entry.item.name));
    const tools = new Map(inView.map((entry) => [entry.item.name, entry.item]));
    const built = { version: catalog.version, index: new ToolIndex([...tools.values()]), tools };
    this.byView.set(view, built);
    return built;
  }
}

export interface FindToolsDeps {
  catalog: Catalog;
  who: Viewer;
  policy: DecisionMaker;
  indexes: ToolIndexes;
}

export function findTools(args: Record<string, unknown>, { catalog, who, policy, indexes }: FindToolsDeps): Result {
  const query = typeof args.query === 'string' ? args.query : '';
  if (!query.trim()) throw new GatewayError('INVALID_PARAMS', 'find_tools needs a "query" string');
  const limit = Math.min(MAX_RESULTS, Math.max(1, typeof args.limit === 'number' ? Math.floor(args.limit) : 5));
  const { index, tools } = indexes.for(catalog, who.view);
  // Policy is asked only about the candidates, not about the whole catalog.
  const mayUse = (name: string) => {
    const entry = catalog.resolveTool(name);
    return entry !== undefined && visible('tools', [entry], who, policy).length > 0;
  };
  const hits = index.search(query, { limit, filter: mayUse });
  const found = hits.map(({ name }) => {
    const tool = tools.get(name)!;
    return { name: tool.name, description: tool.description, inputSchema: tool.inputSchema };
  });
  return { content: [{ type: 'text', text: JSON.stringify(found, null, 2) }], structuredContent: { tools: found } };
}

/** `call_tool`'s arguments as the params of the direct call it stands for. */
export function directCallParams(params: Record<string, unknown>): Record<string, unknown> {
  const args = (params.arguments ?? {}) as Record<string, unknown>;
  if (typeof args.name !== 'string' || args.name === '') throw new GatewayError('INVALID_PARAMS', 'call_tool needs the "name" of a tool');
  // The inner arguments go on as given: the pipeline refuses a shape it cannot decide on (-32602), as for a direct call.
  const { arguments: inner, ...rest } = { ...params, name: args.name, arguments: args.arguments };
  return inner === undefined ? rest : { ...rest, arguments: inner };
}
