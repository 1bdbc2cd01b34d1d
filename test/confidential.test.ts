import { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BEHAVIOURS, type AgencyBehaviour } from '../agencies/index.js';
import { sealDecision } from '../vault/index.js';
import type { UpdateDefinition } from '@temporalio/common';
import type { AgencyId, DecisionReceipt, SignedDecision } from '../domain/index.js';
import { assessUpdate, closeUpdate, rescheduleUpdate, scheduleUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { eventually, sampleTip, startTestEngine, type TestEngine } from './engine.js';

/**
 * Confidential by design: an operation carried through its whole lifecycle, with a marker in every personal
 * field, leaves none of them readable in Temporal. The raw history (every run across continue-as-new, and
 * the erasure workflow it starts) is read with a client that has no codec and no key.
 */
let engine: TestEngine;

const MARKERS = {
  name: 'MARK-ENTITY-NAME AB',
  address: 'MARK-ADDRESS 12, Umeå',
  orgNumber: '556703-7485',
  description: 'MARK-DESCRIPTION of what was observed',
  source: 'MARK-SOURCE-REF-7731',
  question: 'MARK-QUESTION: anything ongoing?',
  note: 'MARK-NOTE on the assessment',
  place: 'MARK-PLACE Storgatan 12',
  failedPlace: 'MARK-FAILED-UPDATE-PLACE',
  reschedule: 'MARK-RESCHEDULE-REASON',
  summary: 'MARK-SUMMARY licence revoked',
  contact: 'MARK-CONTACT polisen',
  decline: 'MARK-DECLINE-REASON not ours',
  findings: 'MARK-FINDINGS two employees',
  information: 'Registered activity matches', // the simulated agencies' information answer
} as const;

const behaviours: Partial<Record<AgencyId, AgencyBehaviour>> = {
  ...DEMO_BEHAVIOURS,
  polisen: { ...DEMO_BEHAVIOURS.polisen!, mandate: { accept: true, contactFunction: MARKERS.contact }, findings: { text: MARKERS.findings, sanctions: [] } },
  lansstyrelsen: { mandate: { accept: false, reason: MARKERS.decline } },
};

beforeAll(async () => {
  engine = await startTestEngine('confidential', { auth: true });
  await engine.startAgencies(behaviours);
});
afterAll(async () => {
  await engine?.stop();
});

/** Every string and byte string in a raw history, as text: what anyone with access to Temporal can read. */
function readableText(node: unknown, out: string[] = []): string[] {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('utf8'));
  else if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const v of node) readableText(v, out);
  else if (typeof node === 'object' && node !== null) for (const v of Object.values(node)) readableText(v, out);
  return out;
}

describe('confidential by design', () => {
  it('keeps every personal field out of the raw history across continue-as-new, a failed update and the erasure workflow', async () => {
    const tip = sampleTip({
      entity: { orgNumber: MARKERS.orgNumber, name: MARKERS.name, address: MARKERS.address, municipality: 'Umeå' },
      description: MARKERS.description,
      source: { kind: 'public', protected: true, reference: MARKERS.source },
    });
    const { handle, operationId } = await engine.register(tip, {
      config: { mandateDeadline: '8s', findingsDeadline: '8s', followUpAfter: '1s', outcomeDeadline: '8s', historyEventLimit: 50, retention: '1 day' },
    });
    const decide = async <T extends object>(update: UpdateDefinition<DecisionReceipt, [SignedDecision<T>]>, decision: T) =>
      engine.decide(handle, update, await sealDecision(engine.keys, operationId, decision));

    await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'assessment',
    );
    await decide(assessUpdate, { decision: 'request_info', agencies: ['polisen'], question: MARKERS.question });
    await eventually(
      () => handle.query(timelineQuery),
      (t) => t.some((e) => e.text.startsWith('information provided')),
    );
    await decide(assessUpdate, { decision: 'proceed', note: MARKERS.note });
    await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'joint_action' && s.stage === 'schedule_decision',
      30_000,
    );

    // A failed update: the lead declined, so the workflow refuses it; its sealed place is in no failure either.
    await expect(
      decide(scheduleUpdate, { at: new Date(Date.now() + 60_000).toISOString(), place: MARKERS.failedPlace, lead: 'lansstyrelsen' }),
    ).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/lead "lansstyrelsen" has not accepted/) },
    });
    await decide(scheduleUpdate, { at: new Date(Date.now() + 3_000).toISOString(), place: MARKERS.place, lead: 'polisen' });
    await decide(rescheduleUpdate, { at: new Date(Date.now() + 4_000).toISOString(), reason: MARKERS.reschedule });
    await eventually(
      () => handle.query(stateQuery),
      (s) => s.stage === 'closing_decision',
      40_000,
    );
    await decide(closeUpdate, { summary: MARKERS.summary });
    const result = await handle.result();
    expect(result.phase).toBe('closed');

    // Entitled reading works (so the search below could find the markers if they leaked): unsealed with the key.
    const timeline = await engine.keys.unsealDeep(await handle.query(timelineQuery));
    const joined = JSON.stringify(timeline);
    for (const marker of [MARKERS.decline, MARKERS.reschedule, MARKERS.information]) expect(joined).toContain(marker);
    const state = await engine.keys.unsealDeep(await handle.query(stateQuery));
    expect(state.action?.place).toBe(MARKERS.place);
    expect(state.agencies.find((a) => a.agency === 'polisen')?.contactFunction).toBe(MARKERS.contact);

    // The raw history of every run, and of the erasure workflow, read without any codec.
    const raw = new Client({ connection: engine.client.connection });
    const histories: temporal.api.history.v1.IHistory[] = [];
    // From the last run back to the first: each run names the run it continued.
    let runId: string | undefined = (await raw.workflow.getHandle(operationId).describe()).runId;
    while (runId) {
      const history = await raw.workflow.getHandle(operationId, runId).fetchHistory();
      histories.push(history);
      runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    expect(histories.length, 'the operation continued as new at least once').toBeGreaterThan(1);
    histories.push(await raw.workflow.getHandle(`${operationId}.erasure`).fetchHistory());
    const text = histories.flatMap((h) => readableText(h)).join('\n');
    expect(text).toContain('LOS operation in Umeå'); // the operator-visible summary stays readable
    const leaked = Object.entries(MARKERS).filter(([, marker]) => text.includes(marker) || text.includes(marker.replace('-', '')));
    expect(leaked.map(([field]) => field)).toEqual([]);
    // Failure messages are readable (operators read them) and were searched above with the rest: no marker in any.
    const failures = histories.flatMap((h) =>
      (h.events ?? []).map((e) => e.workflowTaskFailedEventAttributes?.failure ?? e.activityTaskFailedEventAttributes?.failure).filter(Boolean),
    );
    for (const failure of failures) expect(failure!.message).not.toBe('Encoded failure');
  });
});
