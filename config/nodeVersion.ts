/**
 * The engine runs on Node 24 LTS: Node 20 reached its end of life in April 2026, and a system holding crime
 * intelligence must not run on an unsupported runtime. Where the machine's own Node is older, `npm install` puts
 * Node 24 in node_modules/.bin (the `node` package), and npm scripts and npx run on it.
 */
export const NODE_MAJOR = 24;

/** What to tell a person who started a process on an older Node; undefined on a supported one. */
export function unsupportedNode(version: string = process.versions.node): string | undefined {
  if (Number(version.split('.')[0]) >= NODE_MAJOR) return undefined;
  return `los-engine needs Node ${NODE_MAJOR} or newer and this is Node ${version}: start it through npm (npm run …, npx …), which uses the Node ${NODE_MAJOR} that npm install put in node_modules/.bin, or install Node ${NODE_MAJOR}.`;
}
