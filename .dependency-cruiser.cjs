/**
 * The layer rules of the design (arrows point down), checked in CI by
 * `npm run check:deps`. Each rule names the direction it keeps; a new import
 * that breaks one fails the build. Rules the current layout still breaks
 * (session/ reaching upstream/ past the pipeline, policy/ using config/
 * internals, credentials/ importing upstream/) join this list as the layout
 * is redesigned.
 */
/** A heavy library imported from one file only. */
const oneSite = (name, library, file) => ({
  name,
  comment: `${library} is imported in ${file} only: one seam per library.`,
  severity: 'error',
  from: { path: '^src/', pathNot: `^${file.replace(/\./g, '\\.')}$` },
  to: { path: `node_modules/${library.replace(/\//g, '\\/')}/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import circles: a circle makes two files one room with two doors.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'nothing-imports-the-top',
      comment: 'The CLI and app/ (wiring, lifecycle, reloads) are the top floors: nothing below imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|app)/' },
      to: { path: '^src/(cli|app)/' },
    },
    {
      name: 'upstream-never-up',
      comment: 'upstream/ reports through events; it never imports the layers that use it.',
      severity: 'error',
      from: { path: '^src/upstream/' },
      to: { path: '^src/(http|stdio|session|pipeline|catalog|app)/' },
    },
    {
      name: 'pipeline-below-the-edge',
      comment: 'The pipeline sees a CallContext only: no front, no session layer, no express.',
      severity: 'error',
      from: { path: '^src/pipeline/' },
      to: { path: '^src/(http|stdio|session)/|node_modules/express/' },
    },
    {
      name: 'session-below-the-fronts',
      comment: 'The MCP session layer serves both fronts (HTTP and stdio); it imports neither, nor express.',
      severity: 'error',
      from: { path: '^src/session/' },
      to: { path: '^src/(http|stdio)/|node_modules/express/' },
    },
    {
      name: 'catalog-and-policy-below-the-pipeline',
      comment: 'catalog/ and policy/ are decided on by the pipeline; they never reach up into it, nor into auth/ (a Principal is core/).',
      severity: 'error',
      from: { path: '^src/(catalog|policy)/' },
      to: { path: '^src/(http|stdio|session|pipeline|credentials|auth|app)/' },
    },
    {
      name: 'console-is-a-front',
      comment: 'The console is mounted by app/ into the HTTP front; it reads the gateway through what app/ hands it, never the layers below the pipeline.',
      severity: 'error',
      from: { path: '^src/console/' },
      to: { path: '^src/(http|stdio|session|pipeline|catalog|contracts|policy|upstream|ratelimit|credentials|app|cli)/' },
    },
    {
      name: 'nothing-below-imports-the-console',
      comment: 'Only app/ (which wires it) knows the console.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(app|cli|console)/' },
      to: { path: '^src/console/' },
    },
    {
      name: 'contracts-below-the-catalog',
      comment: 'contracts/ (hashes, the lock, drift, the lint, argument checks) works on plain lists: it knows no upstream, catalog, pipeline or front.',
      severity: 'error',
      from: { path: '^src/contracts/' },
      to: { path: '^src/(http|stdio|session|pipeline|catalog|policy|credentials|auth|upstream|ratelimit|app|cli)/' },
    },
    {
      name: 'leaves-stay-leaves',
      comment: 'core/, infra/ and observability/ are used by everyone and use none of the layers.',
      severity: 'error',
      from: { path: '^src/(core|infra|observability)/' },
      to: { path: '^src/(http|stdio|session|pipeline|catalog|contracts|policy|credentials|auth|upstream|ratelimit)/' },
    },
    oneSite('one-prom-client-site', 'prom-client', 'src/observability/metrics.ts'),
    oneSite('one-cel-site', '@marcbachmann/cel-js', 'src/policy/cel.ts'),
    oneSite('one-jose-site', 'jose', 'src/auth/jwt.ts'),
    oneSite('one-yaml-site', 'yaml', 'src/config/raw.ts'),
    oneSite('one-ioredis-site', 'ioredis', 'src/infra/redis.ts'),
    oneSite('one-canonicalize-site', 'canonicalize', 'src/infra/canonical.ts'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
