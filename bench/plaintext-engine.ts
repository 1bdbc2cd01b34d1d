/**
 * `node --import tsx bench/plaintext-engine.ts worker|bridge`: one of the engine's processes, configured through
 * the environment as workers/main.ts is, but without encryption (bench/plaintext.ts). Only the benchmark starts it.
 */
import { runEngineProcess } from '../workers/main.js';
import { PLAINTEXT_ENGINE } from './plaintext.js';

runEngineProcess(process.argv[2], PLAINTEXT_ENGINE).catch((err) => {
  console.error(`los ${process.argv[2] ?? ''} (plaintext) failed: ${(err as Error).message}`);
  process.exit(2);
});
