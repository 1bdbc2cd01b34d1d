import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { DEMO_BEHAVIOURS, type SimulatedAgency } from '../agencies/index.js';
import { loadCatalogueFile } from '../config/index.js';
import { AGENCY_IDS, SUBJECTS, Tip, candidateAgencies, type AgencyId, type Outcome, type PlainTip } from '../domain/index.js';
import { engineDataConverter } from '../vault/index.js';
import { isAuthorizationFailure } from '../messaging/index.js';
import { assessUpdate, closeUpdate, scheduleUpdate, stateQuery, timelineQuery } from '../workflows/definitions.js';
import { eventually, readStream, sampleTip, startTestEngine, type TestEngine } from './engine.js';

/**
 * The whole five-phase lifecycle across real Temporal and real NATS, with simulated agency systems, on a
 * nats-server that enforces need to know with one user per agency.
 */
let engine: TestEngine;
let agencies: Map<AgencyId, SimulatedAgency>;

beforeAll(async () => {
  engine = await startTestEngine('lifecycle', { auth: true });
  agencies = await engine.startAgencies(DEMO_BEHAVIOURS);
});
afterAll(async () => {
  await engine?.stop();
});

describe('full LOS lifecycle', () => {
  it('carries a tip through all five phases, tells each agency exactly what it should hear once, and closes with a summary', async () => {
    const tipInput = sampleTip();
    const tip = Tip.parse(tipInput) as PlainTip;
    const catalogue = loadCatalogueFile();
    const { handle, operationId } = await engine.register(tipInput, {
      config: { mandateDeadline: '8s', findingsDeadline: '8s', followUpAfter: '1s', outcomeDeadline: '8s' },
    });

    await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'assessment',
    );
    await engine.decide(handle, assessUpdate, { decision: 'proceed' });
    const matched = await eventually(
      () => handle.query(stateQuery),
      (s) => s.phase === 'joint_action',
      20_000,
    );
    const candidates = candidateAgencies(tip.categories, catalogue);
    const declined = candidates.filter((a) => DEMO_BEHAVIOURS[a]?.mandate.accept === false);
    const participants = candidates.filter((a) => !declined.includes(a));
    expect(declined).toEqual(['lansstyrelsen']);
    expect(
      matched.agencies
        .filter((a) => a.mandate === 'accepted')
        .map((a) => a.agency)
        .sort(),
    ).toEqual([...participants].sort());

    await engine.decide(handle, scheduleUpdate, { at: new Date(Date.now() + 2_000).toISOString(), place: tip.entity.address, lead: 'polisen' });
    await eventually(
      () => handle.query(stateQuery),
      (s) => s.stage === 'closing_decision',
      30_000,
    );
    await engine.decide(handle, closeUpdate, { summary: 'Licence revoked; tax reassessed.' });
    const result = await handle.result();

    // End state and summary, computed from what the simulated agencies were told to report.
    const reported = participants.flatMap((a) => DEMO_BEHAVIOURS[a]?.outcomes ?? [{ kind: 'none' } as Outcome]);
    const sum = (kind: Outcome['kind']) =>
      reported.filter((o) => o.kind === kind).reduce((total, o) => total + ('amountSek' in o ? o.amountSek : 'valueSek' in o ? o.valueSek : 0), 0);
    expect(result).toMatchObject({
      operationId,
      phase: 'closed',
      outcome: {
        participants: expect.arrayContaining(participants),
        declined,
        noAnswer: [],
        taxReassessedSek: sum('tax_reassessment'),
        assetsSeizedSek: sum('assets_seized'),
        finesSek: sum('fine'),
        licencesRevoked: reported.filter((o) => o.kind === 'licence_revoked').length,
        agenciesWithoutOutcomeReport: [],
        coordinatorSummary: 'Licence revoked; tax reassessed.',
      },
    });

    // The timeline holds every phase change, in order.
    const timeline = await handle.query(timelineQuery);
    expect(timeline.filter((e) => e.kind === 'phase_changed').map((e) => e.text)).toEqual([
      'tip → assessment',
      'assessment → mandate_matching',
      'mandate_matching → joint_action',
      'joint_action → follow_up',
      'follow_up → closed',
    ]);
    expect(timeline.filter((e) => e.kind === 'answer' && e.agency === 'lansstyrelsen').map((e) => e.text)).toEqual([
      expect.stringMatching(/^mandate declined: /),
    ]);

    // The record reads in order: an agency's first answer comes after its mandate request went out, and
    // every notification on the record was delivered (none is left "sending").
    for (const agency of [...participants, ...declined]) {
      const notified = timeline.findIndex((e) => e.kind === 'notified' && e.agency === agency && e.text === 'mandate_requested');
      const answered = timeline.findIndex((e) => e.kind === 'answer' && e.agency === agency);
      expect(notified, agency).toBeGreaterThan(-1);
      expect(answered, agency).toBeGreaterThan(notified);
    }
    expect(timeline.filter((e) => e.kind === 'notified' && e.text.endsWith('(sending)'))).toEqual([]);

    // Each agency received exactly the events it should, each once.
    const expectedFor = (agency: AgencyId): string[] => {
      if (participants.includes(agency))
        return ['mandate_requested', 'briefing', 'action_started', 'findings_requested', 'outcome_requested', 'operation_closed'];
      // The second wave reaches every catalogue agency that was not on site, the decliner included.
      if (declined.includes(agency)) return ['mandate_requested', 'second_wave_notice'];
      return ['second_wave_notice'];
    };
    for (const agency of AGENCY_IDS) {
      const received = agencies.get(agency)!.received.filter((e) => e.operationId === operationId);
      expect(received.map((e) => e.name).sort(), agency).toEqual(expectedFor(agency).sort());
      expect(new Set(received.map((e) => e.id)).size, `${agency} got an event twice`).toBe(received.length);
    }

    // Need to know: only participants saw the description; the protected source appears in no NATS message.
    const outbound = await readStream(engine.nc, SUBJECTS.streamOut);
    const inbound = await readStream(engine.nc, SUBJECTS.streamIn);
    const withDescription = outbound.filter((m) => m.text.includes(tip.description)).map((m) => m.subject.split('.')[3]);
    expect([...new Set(withDescription)].sort()).toEqual([...participants].sort());
    const reference = tip.source.reference!;
    expect(outbound.concat(inbound).filter((m) => m.text.includes(reference))).toEqual([]);
    expect(outbound.some((m) => /"source":\{/.test(m.text))).toBe(false);

    // The server itself enforces this: a connection without an agency's or the engine's credentials is refused.
    await expect(connect({ servers: engine.nats.url, reconnect: false })).rejects.toSatisfy(isAuthorizationFailure);

    // The recorded history replays on the current workflow code: determinism holds.
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: { code: readFileSync(inject('workflowBundlePath'), 'utf8') }, dataConverter: engineDataConverter(engine.keys) },
      history,
      operationId,
    );
  });
});
