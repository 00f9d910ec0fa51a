/**
 * This package's own name, version and docs link, from the package.json that
 * ships beside the build (dist/infra/ and src/infra/ are both two levels
 * below it). Read when asked: at start, for `--version`, for `GET /`.
 */
import { readFileSync } from 'node:fs';

export interface PackageInfo {
  name: string;
  version: string;
  /** Its homepage or repository, else its npm page. */
  docs: string;
}

export function packageInfo(): PackageInfo {
  let pkg: { name?: unknown; version?: unknown; homepage?: unknown; repository?: unknown } = {};
  try {
    pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as typeof pkg;
  } catch {
    // Not where a build expects it (an unusual bundle): callers still get an answer.
  }
  const repository = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository as { url?: unknown } | undefined)?.url;
  const fromRepository = typeof repository === 'string' ? repository.replace(/^git\+/, '').replace(/\.git$/, '') : undefined;
  const name = typeof pkg.name === 'string' ? pkg.name : 'switchboard';
  const docs = typeof pkg.homepage === 'string' ? pkg.homepage : (fromRepository ?? `https://www.npmjs.com/package/${name}`);
  return { name, version: typeof pkg.version === 'string' ? pkg.version : 'unknown', docs };
}
