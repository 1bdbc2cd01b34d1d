/**
 * `npm run demo`: one realistic LOS operation, end to end, on the real stack. It starts the Temporal dev
 * server (with its Web UI) and nats-server, the worker, the bridge and a simulated system for every agency
 * in the catalogue, registers a tip, and acts as the coordinator through all five phases.
 * `npm run demo -- --help` lists the options. SIGINT or SIGTERM at any moment stops everything it started.
 */
import { demoOptions } from './demo-options.js';

// `--help` and a bad option are answered before the stack's modules are loaded (seconds of imports).
demoOptions();
await import('./demo-run.js');
