/**
 * Exposed tool names longer than many clients accept (64 characters: the
 * limit of several model APIs, stricter than MCP's own 128). The gateway
 * serves them anyway; `serve` and `catalog` say so once per tool, with the
 * prefix that would make it fit.
 */
import type { CatalogEntry } from '../../catalog/catalog.js';
import type { LoadedConfig } from '../../config/schema/index.js';

export const MAX_TOOL_NAME = 64;

export interface LongName {
  tool: string;
  server: string;
  message: string;
  fix: string;
}

/** Says each tool whose exposed name is too long once: `check` returns only the ones not returned before. */
export class LongNames {
  private readonly seen = new Set<string>();

  constructor(private readonly config: () => LoadedConfig) {}

  check(entries: readonly CatalogEntry[]): LongName[] {
    const out: LongName[] = [];
    for (const e of entries) {
      if (e.kind !== 'tool' || e.exposed.length <= MAX_TOOL_NAME || this.seen.has(e.exposed)) continue;
      this.seen.add(e.exposed);
      out.push(describe(this.config(), e));
    }
    return out;
  }
}

function describe(config: LoadedConfig, e: CatalogEntry): LongName {
  const message = `tool name "${e.exposed}" is ${e.exposed.length} characters; many clients refuse tool names over ${MAX_TOOL_NAME}`;
  const setting = `gateway.servers.${e.server}.prefix`;
  const room = MAX_TOOL_NAME - config.gateway.separator.length - e.original.length;
  let fix: string;
  if (room >= 1) fix = `give server "${e.server}" a shorter prefix (${setting}: at most ${room} characters for this tool)`;
  else if (e.original.length <= MAX_TOOL_NAME) fix = `only ${setting}: "" (no prefix) keeps "${e.original}" within ${MAX_TOOL_NAME} characters`;
  else fix = `"${e.original}" alone is over ${MAX_TOOL_NAME} characters: no prefix can fix it; ask the server's authors for a shorter name`;
  return { tool: e.exposed, server: e.server, message, fix };
}
