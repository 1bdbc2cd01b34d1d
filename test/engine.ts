import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { inject, vi } from 'vitest';
import type { SimulatedAgency } from '../agencies/index.js';
import { SUBJECTS, type AgencyId, type OperationState, type TipInput } from '../domain/index.js';
import { stateQuery } from '../workflows/definitions.js';
import { DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER } from '../workers/index.js';
import { installTestRuntime } from './runtime.js';
import { startEmbeddedEngine, type EmbeddedEngine, type EmbeddedEngineOptions } from '../scripts/embedded-engine.js';

/**
 * Decisions are signed by the API and name their author: `engine.decide(handle, update, decision, author?)`
 * signs with the engine's API key and sends (Umeå's coordinator by default); `engine.sign(…)` gives the signed
 * envelope for a test that sends it itself. Authors for the tests:
 */
export { UMEA_COORDINATOR, coordinatorOf } from '../scripts/embedded-engine.js';
import type { MasterKeyring } from '../vault/index.js';

/**
 * A real engine for server-backed tests: the run's Temporal dev server, a nats-server of this test file's own,
 * a worker on a task queue of its own, and the bridge. Nothing is mocked.
 */
export { workerLog } from './runtime.js';

export type TestEngine = EmbeddedEngine;

export async function startTestEngine(
  name: string,
  options: {
    maxDeliver?: number;
    auth?: boolean;
    keyring?: MasterKeyring;
    api?: EmbeddedEngineOptions['api'];
    codec?: EmbeddedEngineOptions['codec'];
    logger?: EmbeddedEngineOptions['logger'];
    streamEraseIntervalMs?: number;
    erasureReconcileSeconds?: number;
  } = {},
): Promise<TestEngine> {
  installTestRuntime();
  // One key for the run, so the engine and every \`los\` child process compute the same entity references.
  process.env.LOS_ENTITY_KEY ??= inject('entityKey');
  return startEmbeddedEngine({
    temporalAddress: inject('temporalAddress'),
    scratchDir: mkdtempSync(join(inject('scratchDir'), `${name}-`)),
    taskQueue: `los-test-${name}`,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    ...options,
  });
}

let tipCounter = 0;

/** A realistic tip; each call differs in its receipt time, so each is a new operation. */
export function sampleTip(overrides: Partial<TipInput> = {}): TipInput {
  tipCounter += 1;
  return {
    entity: { orgNumber: '556703-7485', name: 'Restaurang Norrsken AB', address: 'Storgatan 12, 903 26 Umeå', municipality: 'Umeå' },
    categories: ['money_laundering', 'unlicensed_alcohol', 'labour_exploitation'],
    description: 'Serves alcohol after licence hours; staff appear to work without contracts.',
    urgency: 'high',
    source: { kind: 'public', protected: true, reference: 'SECRET-SOURCE-REF-7731' },
    receivedAt: new Date(Date.UTC(2026, 10, 1, 8, 0, 0) + tipCounter * 1000 + process.pid * 1_000_000).toISOString(),
    ...overrides,
  };
}

/**
 * Polls a condition on live state with vitest's `vi.waitFor`; server-backed tests wait on behaviour, never on
 * fixed sleeps. A probe that throws (a query before the first workflow task) is asked again until the timeout.
 * Returns the first value that passes; on timeout the error shows the last value seen.
 */
export function eventually<T>(probe: () => Promise<T>, test: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (!test(value)) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)?.slice(0, 2_000)}`);
      return value;
    },
    { timeout: timeoutMs, interval: 150 },
  );
}

/** What each simulated agency has received for one operation, by event name, in order. */
/** An operation's state once `test` holds, polling its state query. */
export function untilState(
  handle: { query(query: typeof stateQuery): Promise<OperationState> },
  test: (state: OperationState) => boolean,
  timeoutMs?: number,
): Promise<OperationState> {
  return eventually(() => handle.query(stateQuery), test, timeoutMs);
}

export function receivedFor(agencies: Map<AgencyId, SimulatedAgency>, operationId: string): Partial<Record<AgencyId, string[]>> {
  const out: Partial<Record<AgencyId, string[]>> = {};
  for (const [agency, simulated] of agencies) {
    const names = simulated.received.filter((e) => e.operationId === operationId).map((e) => e.name);
    if (names.length > 0) out[agency] = names;
  }
  return out;
}

export interface StoredMessage {
  subject: string;
  text: string;
  /** A header value, or '' when the message has none by that name. */
  header(name: string): string;
}

/** Every message a stream holds now, oldest first, read by sequence (no consumer is left behind). */
export async function readStream(nc: NatsConnection, stream: string): Promise<StoredMessage[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  if (state.messages === 0) return out;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const stored = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (!stored) continue; // deleted or aged out
    out.push({ subject: stored.subject, text: new TextDecoder().decode(stored.data), header: (name) => stored.header?.get(name) ?? '' });
  }
  return out;
}

/** The dead-letter stream once it holds at least `min` messages: subject, reason, original subject, body. */
export async function deadLetters(nc: NatsConnection, min: number) {
  const jsm = await jetstreamManager(nc);
  await eventually(
    () => jsm.streams.info(SUBJECTS.streamDeadLetter),
    (i) => i.state.messages >= min,
    30_000,
  );
  return (await readStream(nc, SUBJECTS.streamDeadLetter)).map((m) => ({
    subject: m.subject,
    reason: m.header(DEAD_LETTER_REASON_HEADER),
    original: m.header(ORIGINAL_SUBJECT_HEADER),
    body: m.text,
  }));
}

/**
 * Until the operation has learned the engine's keys (the local activity `engineKeys`, from the key store on
 * NATS): decisions before then are refused NotReady, so a test that takes NATS away first waits for this.
 */
export async function untilKeysLearned(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }, timeoutMs = 30_000): Promise<void> {
  // The engineKeys local activity's marker: its only one, recorded with the first workflow task it ran in.
  await eventually(
    async () => ((await handle.fetchHistory()).events ?? []) as { markerRecordedEventAttributes?: { markerName?: string | null } | null }[],
    (events) => events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'),
    timeoutMs,
  );
}

/**
 * A pino logger at INFO whose JSON lines land in `lines`, parsed: for tests that check what an engine process
 * logs (a refusal's who, what and why; never a name).
 */
export function capturedLog(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}
