/**
 * What the engine is set up with: the environment each process reads (validated once, at start), the mandate
 * catalogue file, and the Node version it supports. Below everything that starts a process or a client.
 */
export { DEFAULT_BRIDGE_BATCH_WINDOW_MS, DEFAULT_MAX_CACHED_WORKFLOWS, EngineEnv, readEngineEnv } from './environment.js';
export { DEFAULT_CATALOGUE_PATH, loadCatalogueFile } from './catalogue.js';
export { NODE_MAJOR, unsupportedNode } from './nodeVersion.js';
