import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../scripts/temporal-cli.js';
import { NODE_MAJOR, unsupportedNode } from '../config/index.js';
import { ENGINE_NODE_OPTIONS, engineNodeOptions } from '../workers/memory.js';

const json = (file: string) => JSON.parse(readFileSync(join(PROJECT_ROOT, file), 'utf8')) as Record<string, unknown>;

/** The README's quick start must leave a fresh clone clean: `npm install` rewrites a lock that disagrees. */
describe('package-lock.json', () => {
  it('records what package.json declares for the project itself, bin included, so npm install has nothing to rewrite', () => {
    const pkg = json('package.json');
    const root = (json('package-lock.json').packages as Record<string, Record<string, unknown>>)['']!;
    for (const field of ['name', 'version', 'bin', 'dependencies', 'devDependencies', 'engines']) {
      expect(root[field], field).toEqual(pkg[field]);
    }
  });
});

/** Node 20 reached its end of life: every script, and every process a script starts, runs on Node 24. */
describe('the Node the project runs on', () => {
  it('is Node 24 or newer for the tests and for a `node` found on PATH, which is how npm scripts start tsx, vitest and los', () => {
    expect(unsupportedNode()).toBeUndefined();
    const fromPath = spawnSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
    expect(fromPath.status, fromPath.stderr).toBe(0);
    expect(unsupportedNode(fromPath.stdout.trim())).toBeUndefined();
  });

  it('is the same major everywhere: engines, the `node` package npm install brings, its types and the image', () => {
    const pkg = json('package.json') as { engines: { node: string }; devDependencies: Record<string, string> };
    expect(pkg.engines.node).toBe(`>=${NODE_MAJOR}`);
    expect(pkg.devDependencies.node).toMatch(new RegExp(`^${NODE_MAJOR}\\.\\d+\\.\\d+$`));
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${NODE_MAJOR}\\.`));
    expect(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')).toMatch(new RegExp(`^FROM node:${NODE_MAJOR}-[a-z]+-slim$`, 'm'));
  });

  it('tells a person who starts the engine on an older Node what to do', () => {
    expect(unsupportedNode('20.20.2')).toBe(
      `los-engine needs Node ${NODE_MAJOR} or newer and this is Node 20.20.2: start it through npm (npm run …, npx …), which uses the Node ${NODE_MAJOR} that npm install put in node_modules/.bin, or install Node ${NODE_MAJOR}.`,
    );
    expect(unsupportedNode(`${NODE_MAJOR}.0.0`)).toBeUndefined();
  });
});

/** One owner for the engine's heap settings (workers/memory.ts); every way of starting a process carries them. */
describe('the engine processes’ heap settings', () => {
  it('are the same in the package scripts that start engine processes and in the image', () => {
    const scripts = (json('package.json') as { scripts: Record<string, string> }).scripts;
    for (const name of ['worker', 'bridge', 'codec-server', 'api'])
      expect(scripts[name], name).toContain(`NODE_OPTIONS="${ENGINE_NODE_OPTIONS} $NODE_OPTIONS"`);
    expect(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')).toContain(`ENV NODE_OPTIONS="${ENGINE_NODE_OPTIONS}"`);
  });

  it('bound the old generation of a process started with them, and let the environment override', () => {
    const limitMiB = (nodeOptions: string) => {
      const run = spawnSync('node', ['-p', "Math.round(require('v8').getHeapStatistics().heap_size_limit / 2 ** 20)"], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: nodeOptions },
      });
      expect(run.status, run.stderr).toBe(0);
      return Number(run.stdout.trim());
    };
    // The limit V8 reports is the old generation plus the young one: 192 MiB and a few semi-spaces of 8 MiB.
    expect(limitMiB(engineNodeOptions(''))).toBeLessThan(256);
    expect(limitMiB(engineNodeOptions('--max-old-space-size=1024'))).toBeGreaterThan(1024);
  });
});
