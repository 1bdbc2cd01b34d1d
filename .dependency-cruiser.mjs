// @ts-check
/**
 * The folders' layers, checked by `npm run lint` (dependency-cruiser). Each folder has one role and may import only
 * the folders listed for it, all of them below it; an import the other way, a cycle between files, or a folder with
 * no place in this table fails the lint. Type-only imports count like any other, with one exception the Temporal
 * samples make too: workflow code imports the activities' types to type `proxyActivities`.
 */
const below = {
  // The rules: pure functions over plain data, imported by the workflow sandbox.
  domain: [],
  // The losOperation workflow, in Temporal's deterministic sandbox.
  workflows: ['domain'],
  // The engine's side of NATS: topology, accounts, errors, elections, publishing a CloudEvent.
  messaging: ['domain'],
  // What a process is set up with: the environment, the catalogue file, the supported Node.
  config: ['domain'],
  // Keys, sealing, the payload codec, access and audit, the entity reference.
  vault: ['domain', 'messaging'],
  // The workflow's I/O: delivery to JetStream, key erasure.
  activities: ['domain', 'workflows', 'messaging', 'vault'],
  // The agency client and the simulated agencies.
  agencies: ['domain', 'messaging'],
  // The embedded OpenID Connect provider, its own process: it knows nothing of the engine, and the engine nothing of it.
  idp: [],
  // The typed client of the HTTP API and the `los` CLI: a client of the API only (no Temporal, NATS or keys).
  coordinator: ['domain', 'config'],
  // The HTTP API: the engine's one door for people, and the engine-internal path that seals and starts operations.
  api: ['domain', 'workflows', 'config', 'messaging', 'vault'],
  // The engine's processes (worker, bridge, codec server, API) and the one composition root that wires them.
  workers: ['domain', 'workflows', 'config', 'messaging', 'vault', 'activities', 'api'],
  // The dev stack, the demo, the cluster, the embedded engine and the build and contract scripts.
  scripts: ['domain', 'workflows', 'config', 'messaging', 'vault', 'activities', 'agencies', 'coordinator', 'api', 'workers', 'idp'],
  bench: ['domain', 'workflows', 'config', 'messaging', 'vault', 'activities', 'agencies', 'coordinator', 'api', 'workers', 'idp', 'scripts'],
  test: ['domain', 'workflows', 'config', 'messaging', 'vault', 'activities', 'agencies', 'coordinator', 'api', 'workers', 'idp', 'scripts'],
};

const folders = Object.keys(below);
const anyOf = (names) => `^(${names.join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files that import each other, directly or round a loop: the lower one must not know the higher one.',
      from: {},
      // A loop closed only by a type (a workflow typing proxyActivities, a table naming its kinds) loads nothing.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'layers-unknown-folder',
      severity: 'error',
      comment: 'A folder with no place in the layers of .dependency-cruiser.mjs: give it one.',
      // The vitest configs share the unit tier's file list; they are tooling, not a layer.
      from: { pathNot: [anyOf(folders), '^node_modules/', '^vitest[.a-z]*config[.]ts$'] },
      to: { dependencyTypes: ['local'] },
    },
    ...folders.map((folder) => ({
      name: `layers-${folder}`,
      severity: /** @type {const} */ ('error'),
      comment: below[folder].length
        ? `${folder}/ may import only ${below[folder].map((name) => `${name}/`).join(', ')}: the folders below it.`
        : `${folder}/ is the bottom layer and imports no other folder of the project.`,
      from: { path: `^${folder}/` },
      to: {
        dependencyTypes: /** @type {const} */ (['local']),
        pathNot: anyOf([folder, ...below[folder]]),
        ...(folder === 'workflows' ? { dependencyTypesNot: /** @type {const} */ (['type-only']) } : {}),
      },
    })),
    {
      name: 'layers-workflows-types',
      severity: 'error',
      comment: 'workflows/ may import the types of activities/ (to type proxyActivities), and nothing else of the Node side.',
      from: { path: '^workflows/' },
      to: { dependencyTypes: ['local', 'type-only'], pathNot: anyOf(['workflows', 'activities', ...below.workflows]) },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules/', '^[.]tools/', '^[.]data/', '^dist/', '^test/histories/', '^bench/results/'] },
    // Type-only imports are dependencies of the design too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
