import { describe, expect, it } from 'vitest';
import { matchAnswer, type AgencyAnswer, type PendingRequest } from '../../domain/index.js';

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

const book = (open: PendingRequest[], closed: PendingRequest[] = [], seen: string[] = []) => ({
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

  it('marks an answer to a closed request as late', () => {
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
