import { describe, expect, it } from 'vitest';
import {
  CONFLICTS_KEPT_PER_REQUEST,
  describeConflict,
  firstAnswer,
  matchAnswer,
  recordConflict,
  type AgencyAnswer,
  type ClosedRequest,
  type ConflictLog,
  type PendingRequest,
} from '../../domain/index.js';

const request = (requestId: string, agency: PendingRequest['agency'], awaiting: PendingRequest['awaiting']): PendingRequest => ({
  requestId,
  agency,
  awaiting,
  dueAt: '2026-12-01T12:00:00Z',
});

const declined = (eventId: string, agency: AgencyAnswer['agency'], requestId: string, operationId = 'op-1'): AgencyAnswer => ({
  eventId,
  agency,
  name: 'mandate_declined',
  receivedAt: '2026-11-25T10:00:00Z',
  data: { correlation: { operationId, requestId }, reason: 'Not our mandate.' },
});

const book = (open: PendingRequest[], closed: ClosedRequest[] = [], seen: string[] = []) => ({
  operationId: 'op-1',
  open: new Map(open.map((r) => [r.requestId, r])),
  closed: new Map(closed.map((r) => [r.requestId, r])),
  seen: new Set(seen),
});

describe('matching an answer to its request', () => {
  const mandate = request('mandate-1-polisen', 'polisen', 'mandate_answers');

  it('takes an answer that echoes an open request, from the agency asked, of the kind it waits for', () => {
    expect(matchAnswer(declined('e1', 'polisen', 'mandate-1-polisen'), book([mandate]))).toEqual({ kind: 'open', request: mandate });
  });

  it('recognises an answer it has already taken by its CloudEvent id', () => {
    expect(matchAnswer(declined('e1', 'polisen', 'mandate-1-polisen'), book([mandate], [], ['e1']))).toEqual({ kind: 'duplicate' });
  });

  it('marks an answer to a request its deadline closed as late', () => {
    expect(matchAnswer(declined('e2', 'polisen', 'mandate-1-polisen'), book([], [mandate]))).toEqual({ kind: 'late', request: mandate });
  });

  it('refuses an agency answering a request sent to another agency', () => {
    expect(matchAnswer(declined('e3', 'tullverket', 'mandate-1-polisen'), book([mandate]))).toEqual({
      kind: 'unmatched',
      reason: 'correlation.requestId "mandate-1-polisen" matches no request to tullverket awaiting mandate_declined',
    });
  });

  it('refuses an answer of the wrong kind for the request it names', () => {
    const findings = request('findings-1-polisen', 'polisen', 'findings');
    expect(matchAnswer(declined('e4', 'polisen', 'findings-1-polisen'), book([findings])).kind).toBe('unmatched');
  });

  it('refuses an answer that names another operation', () => {
    expect(matchAnswer(declined('e5', 'polisen', 'mandate-1-polisen', 'op-2'), book([mandate]))).toEqual({
      kind: 'unmatched',
      reason: 'correlation.operationId "op-2" is another operation',
    });
  });
});

const accepted = (eventId: string, requestId = 'mandate-1-polisen', tools = ['criminal_investigation']): AgencyAnswer => ({
  eventId,
  agency: 'polisen',
  name: 'mandate_accepted',
  receivedAt: '2026-11-25T10:00:00Z',
  data: { correlation: { operationId: 'op-1', requestId }, tools, contactFunction: 'underrättelseenheten' },
});

describe('the first answer to a request counts', () => {
  const mandate = request('mandate-1-polisen', 'polisen', 'mandate_answers');
  const answered = (first: AgencyAnswer): ClosedRequest => ({ ...mandate, answeredBy: firstAnswer(first) });

  it('calls a different second answer to an answered request conflicting, never late, and names the answer that stands', () => {
    const first = accepted('a1');
    expect(matchAnswer(declined('d1', 'polisen', 'mandate-1-polisen'), book([], [answered(first)]))).toEqual({
      kind: 'conflicting',
      request: answered(first),
      first: { eventId: 'a1', name: 'mandate_accepted', digest: firstAnswer(first).digest },
    });
  });

  it('also calls the same kind of answer with other content conflicting', () => {
    expect(matchAnswer(accepted('a2', 'mandate-1-polisen', ['aliens_act_check']), book([], [answered(accepted('a1'))])).kind).toBe('conflicting');
  });

  it('takes the same answer resent under a new id as a duplicate, whatever the key order', () => {
    const first = accepted('a1');
    const resent: AgencyAnswer = {
      eventId: 'a1-resent',
      agency: 'polisen',
      name: 'mandate_accepted',
      receivedAt: '2026-11-25T10:05:00Z',
      data: {
        contactFunction: 'underrättelseenheten',
        tools: ['criminal_investigation'],
        correlation: { requestId: 'mandate-1-polisen', operationId: 'op-1' },
      },
    };
    expect(matchAnswer(resent, book([], [answered(first)]))).toEqual({ kind: 'duplicate' });
  });

  it('keeps the content of the first conflicting answers per request, then only counts them', () => {
    let log: ConflictLog | undefined;
    const kept: boolean[] = [];
    for (let i = 0; i < CONFLICTS_KEPT_PER_REQUEST + 2; i++) {
      const result = recordConflict(log, declined(`d${i}`, 'polisen', 'mandate-1-polisen'));
      log = result.log;
      kept.push(result.kept);
    }
    expect(kept).toEqual([...Array(CONFLICTS_KEPT_PER_REQUEST).fill(true), false, false]);
    expect(log!.kept.map((k) => k.eventId)).toEqual(Array.from({ length: CONFLICTS_KEPT_PER_REQUEST }, (_, i) => `d${i}`));
    expect(log!.kept[0]!.data).toEqual({ correlation: { operationId: 'op-1', requestId: 'mandate-1-polisen' }, reason: 'Not our mandate.' });
    expect(log).toMatchObject({ requestId: 'mandate-1-polisen', agency: 'polisen', uncounted: 2 });
  });

  it('puts a kept conflict on the timeline with what it said, and only the first overflow after that', () => {
    const first = firstAnswer(accepted('a1'));
    let log: ConflictLog | undefined;
    const lines: (string | undefined)[] = [];
    for (let i = 0; i < CONFLICTS_KEPT_PER_REQUEST + 3; i++) {
      const answer = declined(`d${i}`, 'polisen', 'mandate-1-polisen');
      const result = recordConflict(log, answer);
      log = result.log;
      lines.push(describeConflict(answer, first, result.log, result.kept));
    }
    expect(lines[0]).toBe(
      'mandate_declined not applied: it conflicts with the first answer (mandate_accepted), which stands; it said {"reason":"Not our mandate."}',
    );
    expect(lines[CONFLICTS_KEPT_PER_REQUEST]).toMatch(/counted, their content not kept$/);
    expect(lines.slice(CONFLICTS_KEPT_PER_REQUEST + 1)).toEqual([undefined, undefined]);
    expect(lines.join(' ')).not.toContain('late');
  });
});
