import type { UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import {
  AmendTip,
  DECISIONS,
  DECISION_KINDS,
  decidedBy,
  verifyDecision,
  correctionNotices,
  codedIssues,
  rejection,
  decisionIntent,
  tipCorrections,
  type AnyDecisionRow,
  type Author,
  type DecisionKind,
  type DecisionReceipt,
  correctionRefusal,
  type Refusal,
  type Refused,
  type SignedDecision,
} from '../domain/index.js';
import { amendTipUpdate, decisionUpdates, type CorrectionReceipt } from './definitions.js';
import { FailureType } from './failures.js';
import { nowMs, type Operation } from './operation-state.js';

/** Validators must be synchronous and throw ApplicationFailure, so the update is rejected, not the task. */
function parseOrReject<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    // Operators read the message: the fields, not their values; the entitled get the values through the API.
    const { message, quoted } = rejection(what, result.error, input);
    throw ApplicationFailure.create({ message, type: FailureType.InvalidInput, nonRetryable: true, details: [...codedIssues(result.error), { quoted }] });
  }
  return result.data;
}

/** A refusal carries its code, field and facts as the failure's details, so a client need not read the sentence. */
function refuse(refusal: Refusal): void {
  if (refusal !== undefined) throw refusalFailure(refusal, FailureType.NotAllowedNow);
}

function refusalFailure(refusal: Refused, type: FailureType): ApplicationFailure {
  const { message, ...coded } = refusal;
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: [coded] });
}

/**
 * A Temporal client is not a coordinator: a decision counts only when the API signed it for this operation and
 * this update, naming a coordinator of the operation's municipality, recently and once. Until the operation has
 * learned the API's key from the engine's key store (its first moments), nothing is taken. Every refusal is
 * logged with its reason (no personal data: the reason names roles, municipalities and operations only).
 */
function authorised(op: Operation, update: string, raw: unknown, what: string): unknown {
  const apiKey = op.memory.apiKey;
  if (apiKey === undefined) throw ApplicationFailure.nonRetryable(`${what} not taken yet: the operation does not hold the API's key yet`, FailureType.NotReady);
  const seen = (nonce: string) => op.memory.decisionNonces.some((s) => s.nonce === nonce);
  const verified = verifyDecision(raw, apiKey, { operationId: op.operationId, update, municipality: op.municipality, nowMs: nowMs(), seen });
  if (verified.ok) return verified.decision;
  log.warn('decision refused', { operationId: op.operationId, update, reason: verified.reason });
  throw ApplicationFailure.nonRetryable(`${what} rejected: ${verified.reason}`, FailureType.NotAuthorised);
}

/** What the handler reads of an update its validator accepted (a replay runs handlers only, on what was accepted). */
function taken(op: Operation, raw: unknown): { decision: unknown; author: Author } {
  const signed = raw as SignedDecision;
  op.decisionTaken({ nonce: signed.nonce, issuedAt: signed.issuedAt });
  return { decision: signed.decision, author: signed.author };
}

/**
 * One decision of the table (domain/decision-table.ts): the validator parses with the row's schema and asks
 * its admissibility rule; the handler only records the decision on the timeline and as intent. The stage
 * that owns the decision acts on it, so every effect (a notification, a phase move) happens in one place, in order.
 */
function handleDecision(op: Operation, kind: DecisionKind): void {
  const row: AnyDecisionRow = DECISIONS[kind];
  const update: UpdateDefinition<DecisionReceipt, [unknown]> = decisionUpdates[kind];
  setHandler(
    update,
    (raw) => {
      const { decision: input, author } = taken(op, raw);
      const decision = parseOrReject(row.schema, input, kind);
      op.record('decision', row.timeline(decision, { actionNumber: op.memory.rounds.action }), undefined, decidedBy(author));
      op.intend(decisionIntent(kind, decision));
      return op.receipt();
    },
    { validator: (raw) => refuse(row.admissible(parseOrReject(row.schema, authorised(op, row.update, raw, kind), kind), op.decisionContext())) },
  );
}

/** The coordinator's decisions: one handler per row of the table, and the correction of the tip. */
export function handleDecisions(op: Operation): void {
  for (const kind of DECISION_KINDS) handleDecision(op, kind);

  // Corrections are applied, never dropped: agencies that hold the changed data hear of it, and only of that.
  const dataHolders = () => ({
    told: op.toldAgencies(),
    briefed: [...new Set([...op.memory.pending, ...op.memory.closedRequests].filter((p) => p.awaiting === 'readiness').map((p) => p.agency))].sort(),
  });
  setHandler(
    amendTipUpdate,
    (raw): CorrectionReceipt => {
      const { decision, author } = taken(op, raw);
      const corrected = parseOrReject(AmendTip, decision, 'correction').tip;
      const check = tipCorrections(op.tip, corrected);
      if (!check.ok || check.changed.length === 0) return { ...op.receipt(), changed: [], told: [] }; // the validator refuses these
      const notices = correctionNotices(corrected, check.changed, dataHolders());
      op.correct(corrected, check.changed, notices, decidedBy(author));
      const told = notices.map((n) => n.agency);
      return { ...op.receipt(), changed: check.changed, told };
    },
    {
      validator: (raw) => {
        const corrected = parseOrReject(AmendTip, authorised(op, amendTipUpdate.name, raw, 'correction'), 'correction').tip;
        if (op.memory.stage === 'ended')
          refuse(
            correctionRefusal('already-ended', `correction rejected: the operation is already ${op.memory.phase}`, { params: { phase: op.memory.phase } }),
          );
        if (op.cancelling) refuse(correctionRefusal('being-cancelled', 'correction rejected: the operation is being cancelled'));
        const check = tipCorrections(op.tip, corrected);
        if (!check.ok) refuse(correctionRefusal('identity-differs', `correction rejected: ${check.reason}`, { params: { fields: check.fields.join(',') } }));
        else if (check.changed.length === 0)
          throw refusalFailure(correctionRefusal('tip-unchanged', 'correction rejected: nothing differs from the registered tip'), FailureType.TipUnchanged);
      },
    },
  );
}
