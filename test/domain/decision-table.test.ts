import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../coordinator/cli.js';
import { DECISION_COMMANDS, decisionInput, optionOf } from '../../coordinator/cli/decisions.js';
import { InvalidInputError, decisionPath, parseDecision } from '../../coordinator/client.js';
import { DECISIONS, DECISION_KINDS, decisionIntent, type DecisionContext, type DecisionKind } from '../../domain/index.js';
import {
  assessUpdate,
  callOffUpdate,
  cancelUpdate,
  closeUpdate,
  decideQuorumUpdate,
  decisionUpdates,
  reinspectUpdate,
  rescheduleUpdate,
  scheduleUpdate,
} from '../../workflows/definitions.js';

/** One valid decision of every kind, as a coordinator sends it. */
const SAMPLES: { [K in DecisionKind]: unknown } = {
  assessment: { decision: 'dismiss', reason: 'Handled by the Police.' },
  'quorum decision': { decision: 'request_again', agencies: ['kronofogden'] },
  schedule: { at: '2026-03-12T19:00', place: 'Storgatan 12', lead: 'polisen' },
  reschedule: { at: '2026-03-12T21:00:00+01:00', reason: 'Evening shift instead.' },
  'call off': { reason: 'Police hold: ongoing investigation.' },
  reinspection: { reason: 'Activity resumed under a new name.' },
  close: { summary: 'Licence revoked; tax reassessed.' },
  cancel: { reason: 'The owner closed the business.' },
};

const sealedReason = { sealed: 'los.v1', op: 'los-umea-0123456789abcdef0123', iv: 'AAAAAAAAAAAAAAAA', ct: 'BBBBBBBBBBBBBBBBBBBBBBBB' } as const;

describe('the decision table', () => {
  it('names every decision’s update as clients send it and recorded histories hold it', () => {
    expect(DECISION_KINDS.map((kind) => [kind, DECISIONS[kind].update])).toEqual([
      ['assessment', 'assess'],
      ['quorum decision', 'decideQuorum'],
      ['schedule', 'schedule'],
      ['reschedule', 'reschedule'],
      ['call off', 'callOff'],
      ['reinspection', 'reinspect'],
      ['close', 'close'],
      ['cancel', 'cancel'],
    ]);
    for (const kind of DECISION_KINDS) expect(decisionUpdates[kind]).toMatchObject({ type: 'update', name: DECISIONS[kind].update });
    expect([assessUpdate, decideQuorumUpdate, scheduleUpdate, rescheduleUpdate, callOffUpdate, reinspectUpdate, closeUpdate, cancelUpdate]).toEqual(
      DECISION_KINDS.map((kind) => decisionUpdates[kind]),
    );
  });

  it('gives every decision its path on the API, the update’s name in kebab case', () => {
    expect(DECISION_KINDS.map(decisionPath)).toEqual(['assess', 'decide-quorum', 'schedule', 'reschedule', 'call-off', 'reinspect', 'close', 'cancel']);
  });

  it('rejects a decision that breaks its schema with the decision’s name and the field', () => {
    expect(() => parseDecision('assessment', { decision: 'dismiss', reason: 'no' })).toThrow(
      new InvalidInputError('assessment rejected: reason "no": must give a reason of at least 3 characters'),
    );
    expect(() => parseDecision('schedule', { at: '2026-03-12T19:00', place: '', lead: 'polisen' })).toThrow(
      new InvalidInputError('schedule rejected: place "": must say where the action takes place'),
    );
    for (const kind of DECISION_KINDS) expect(() => parseDecision(kind, {}), kind).toThrow(new RegExp(`^${kind} rejected: [a-z]+: `));
    for (const kind of DECISION_KINDS) expect(() => parseDecision(kind, SAMPLES[kind]), kind).not.toThrow();
  });

  it('records each decision as an intent of its own kind, with the action time in UTC', () => {
    for (const kind of DECISION_KINDS) expect(decisionIntent(kind, parseDecision(kind, SAMPLES[kind])).kind).toBe(kind);
    expect(decisionIntent('schedule', parseDecision('schedule', SAMPLES.schedule))).toEqual({
      kind: 'schedule',
      plan: { at: '2026-03-12T18:00:00.000Z', place: 'Storgatan 12', lead: 'polisen' },
    });
    expect(decisionIntent('close', parseDecision('close', SAMPLES.close))).toEqual({ kind: 'close', summary: 'Licence revoked; tax reassessed.' });
  });

  it('writes each decision on the timeline, free text only as its inline sealed token', () => {
    const timeline = (kind: DecisionKind, input: unknown = SAMPLES[kind]) => DECISIONS[kind].timeline(parseDecision(kind, input) as never, { actionNumber: 2 });
    expect(DECISION_KINDS.map((kind) => timeline(kind))).toEqual([
      'assessment: dismiss (Handled by the Police.)',
      'quorum: request_again',
      'joint action #2 scheduled for 2026-03-12 19:00:00 CET, led by polisen',
      'joint action #2 rescheduled to 2026-03-12 21:00:00 CET: Evening shift instead.',
      'joint action #2 called off: Police hold: ongoing investigation.',
      're-inspection ordered: Activity resumed under a new name.',
      'operation closed by the coordinator',
      'cancelled: The owner closed the business.',
    ]);
    expect(timeline('cancel', { reason: sealedReason })).toBe(`cancelled: ⟦los.v1:${sealedReason.op}:${sealedReason.iv}:${sealedReason.ct}⟧`);
    expect(timeline('assessment', { decision: 'proceed', note: 'Nothing against it.' })).toBe('assessment: proceed');
  });

  it('asks each decision’s admissibility rule, and every refusal starts with the decision’s name', () => {
    const ended: DecisionContext = {
      phase: 'closed',
      stage: 'ended',
      intended: new Set(),
      participants: ['polisen'],
      catalogue: ['polisen', 'kronofogden'],
      now: Date.parse('2026-03-01T10:00:00Z'),
      waitingFor: 'nothing',
    };
    for (const kind of DECISION_KINDS) {
      expect(DECISIONS[kind].admissible(parseDecision(kind, SAMPLES[kind]) as never, ended)?.message, kind).toMatch(new RegExp(`^${kind} rejected: `));
    }
    const actionStart = { ...ended, phase: 'joint_action', stage: 'action_start', waitingFor: 'action start' } as const;
    expect(DECISIONS['call off'].admissible(parseDecision('call off', SAMPLES['call off']), actionStart)).toBeUndefined();
    expect(DECISIONS.reschedule.admissible(parseDecision('reschedule', SAMPLES.reschedule), actionStart)).toBeUndefined();
    expect(DECISIONS.cancel.admissible(parseDecision('cancel', SAMPLES.cancel), actionStart)).toBeUndefined();
    expect(DECISIONS.schedule.admissible(parseDecision('schedule', SAMPLES.schedule), actionStart)?.message).toBe(
      'schedule rejected: the action is already scheduled; use reschedule',
    );
  });
});

describe('the decision commands of los', () => {
  it('gives every decision in the table a command, in the table’s order', () => {
    const program = buildProgram(async () => {}, false);
    const names = program.commands.map((c) => c.name());
    const decisionCommands = DECISION_KINDS.map((kind) => DECISION_COMMANDS[kind].name);
    expect(decisionCommands).toEqual(['assess', 'quorum', 'schedule', 'reschedule', 'call-off', 'reinspect', 'close', 'cancel']);
    expect(names.filter((name) => decisionCommands.includes(name))).toEqual(decisionCommands);
  });

  it('reads each flag of a plain decision command as the field of the same name in the decision’s schema', () => {
    for (const kind of DECISION_KINDS) {
      const spec = DECISION_COMMANDS[kind];
      if (spec.input) continue;
      const fields = Object.keys((DECISIONS[kind].schema as unknown as { shape: Record<string, unknown> }).shape);
      expect(spec.flags.map((flag) => optionOf(flag).attributeName()).sort(), kind).toEqual(fields.sort());
    }
    // The common options are not part of the decision; a flag not given is left out.
    const options = {
      address: '127.0.0.1:7233',
      namespace: 'default',
      nats: 'nats://127.0.0.1:4222',
      json: true,
      at: '2026-03-12T19:00',
      reason: 'Evening shift.',
    };
    expect(decisionInput(DECISION_COMMANDS.reschedule, options)).toEqual({ at: '2026-03-12T19:00', reason: 'Evening shift.' });
  });

  it('turns a choice and its flags into the decision, and names a flag the choice needs', () => {
    expect(decisionInput(DECISION_COMMANDS.assessment, { agency: ['polisen'], question: 'Any reason to hold back?' }, 'request-info')).toEqual({
      decision: 'request_info',
      agencies: ['polisen'],
      question: 'Any reason to hold back?',
    });
    expect(() => decisionInput(DECISION_COMMANDS['quorum decision'], {}, 'request-again')).toThrow(
      new InvalidInputError('quorum request-again needs --agency'),
    );
  });
});
