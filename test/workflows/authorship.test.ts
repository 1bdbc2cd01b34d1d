import { ed25519 } from '@noble/curves/ed25519.js';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToBase64Url, decisionSigningBytes, type Author } from '../../domain/index.js';
import { FailureType } from '../../workflows/failures.js';
import { amendTipUpdate, assessUpdate, cancelUpdate, timelineQuery } from '../../workflows/definitions.js';
import type { losOperation } from '../../workflows/index.js';
import { UMEA_COORDINATOR } from '../engine.js';
import { startWorkflowTier, type WorkflowTier } from './harness.js';

/**
 * A Temporal client is not a coordinator: the operation takes a decision only when the API signed it for this
 * operation and this update, naming a coordinator of its municipality, recently and once. Each refusal leaves
 * the operation as it was; a signed decision goes on the timeline with who took it.
 */
let tier: WorkflowTier;

beforeAll(async () => {
  tier = await startWorkflowTier('authorship');
});
afterAll(async () => {
  await tier?.stop();
});

type Handle = WorkflowHandle<typeof losOperation>;

async function atAssessment(): Promise<Handle> {
  const handle = await tier.start({ tip: { categories: ['smuggling'] } });
  await tier.untilStage(handle, 'assessment');
  // The key arrives with the first activity; a signed decision now would be taken (see the last test).
  return handle;
}

/** Sends an envelope as it is (no re-signing), so the refusal is about exactly this one. */
async function refusal(handle: Handle, signed: unknown, update: string = assessUpdate.name, recordUnchanged = true): Promise<string> {
  const before = (await handle.query(timelineQuery)).length;
  let message = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await handle.executeUpdate(update, { args: [signed] });
      throw new Error('the decision was taken');
    } catch (err) {
      const cause = (err as { cause?: { type?: string; message: string } }).cause;
      if (cause?.type === FailureType.NotReady) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      expect(cause?.type).toBe(FailureType.NotAuthorised);
      message = cause!.message;
      break;
    }
  }
  // Refused in the validator: nothing reached the record.
  if (recordUnchanged) expect((await handle.query(timelineQuery)).length).toBe(before);
  return message;
}

const proceed = { decision: 'proceed' as const };

describe.concurrent('decisions sent straight through Temporal', () => {
  it('refuses an unsigned decision', async () => {
    const handle = await atAssessment();
    expect(await refusal(handle, proceed)).toBe(
      'assessment rejected: the decision carries no signature of the API: decisions are taken only through the API, never from a Temporal client',
    );
  });

  it('refuses a decision signed with another key than the API', async () => {
    const handle = await atAssessment();
    const forgerKey = ed25519.utils.randomSecretKey();
    const envelope = { ...tier.sign(handle.workflowId, assessUpdate, proceed), signature: '' };
    const { signature: _, ...unsigned } = envelope;
    const forged = { ...unsigned, signature: bytesToBase64Url(ed25519.sign(decisionSigningBytes(unsigned), forgerKey)) };
    expect(await refusal(handle, forged)).toMatch(/signature does not verify with the API's key/);
  });

  it('refuses a signed decision whose content was altered', async () => {
    const handle = await atAssessment();
    const signed = tier.sign(handle.workflowId, assessUpdate, { decision: 'dismiss', reason: 'Handled elsewhere.' });
    expect(await refusal(handle, { ...signed, decision: proceed })).toMatch(/signature does not verify/);
  });

  it('refuses a decision signed for another operation (replayed into this one)', async () => {
    const [handle, other] = await Promise.all([atAssessment(), atAssessment()]);
    const forOther = tier.sign(other.workflowId, assessUpdate, proceed);
    expect(await refusal(handle, forOther)).toBe(`assessment rejected: the decision was signed for operation ${other.workflowId}, not this one`);
  });

  it('refuses a decision signed for another update', async () => {
    const handle = await atAssessment();
    const assess = tier.sign(handle.workflowId, assessUpdate.name, { reason: 'Handled elsewhere.' });
    expect(await refusal(handle, assess, cancelUpdate.name)).toBe('cancel rejected: the decision was signed for assess, not cancel');
  });

  it('refuses a decision by a role other than coordinator', async () => {
    const handle = await atAssessment();
    const steering: Author = { sub: 'cecilia@styrgrupp', name: 'Cecilia', role: 'steering_group' };
    expect(await refusal(handle, tier.sign(handle.workflowId, assessUpdate, proceed, steering))).toBe(
      'assessment rejected: role steering_group takes no decisions: only a coordinator does',
    );
  });

  it("refuses a coordinator of another municipality than the operation's", async () => {
    const handle = await atAssessment();
    const malmo: Author = { sub: 'bertil@malmo', name: 'Bertil', role: 'coordinator', municipality: 'Malmö' };
    expect(await refusal(handle, tier.sign(handle.workflowId, assessUpdate, proceed, malmo))).toBe(
      'assessment rejected: a coordinator of Malmö takes no decision on an operation of Umeå',
    );
  });

  it('refuses a decision signed more than five minutes from the workflow clock', async () => {
    const handle = await atAssessment();
    const stale = tier.sign(handle.workflowId, assessUpdate, proceed, UMEA_COORDINATOR, new Date(Date.now() - 6 * 60_000));
    expect(await refusal(handle, stale)).toMatch(/more than 5 minutes from the operation's clock$/);
  });

  it('refuses the same signed decision sent again (a replay), under another update id', async () => {
    const handle = await atAssessment();
    const signed = tier.sign(handle.workflowId, assessUpdate, proceed);
    let taken = false;
    for (let attempt = 0; attempt < 50 && !taken; attempt++) {
      try {
        await handle.executeUpdate(assessUpdate, { args: [signed] });
        taken = true;
      } catch {
        await new Promise((r) => setTimeout(r, 50)); // not ready yet: the operation learns the API's key first
      }
    }
    expect(taken).toBe(true);
    // The operation moves on meanwhile (mandate requests), so the record is checked for one assessment only.
    expect(await refusal(handle, signed, assessUpdate.name, false)).toBe('assessment rejected: the decision was already taken: its nonce was seen (a replay)');
    expect((await handle.query(timelineQuery)).filter((e) => e.text === 'assessment: proceed')).toHaveLength(1);
  });

  it('refuses an unsigned correction of the tip', async () => {
    const handle = await atAssessment();
    await expect(handle.executeUpdate(amendTipUpdate, { args: [{ tip: {} } as never] })).rejects.toMatchObject({
      cause: { type: expect.stringMatching(/^(NotAuthorised|NotReady)$/) },
    });
  });
});

describe('the record', () => {
  it('takes a signed decision and names its author, in their role, on the timeline; the registration names who registered', async () => {
    const handle = await tier.start({ tip: { categories: ['smuggling'] }, author: UMEA_COORDINATOR });
    await tier.untilStage(handle, 'assessment');
    await tier.decide(handle, cancelUpdate, { reason: 'Handled elsewhere.' });
    await handle.result();
    const timeline = await handle.query(timelineQuery);
    const by = { sub: UMEA_COORDINATOR.sub, name: UMEA_COORDINATOR.name, role: 'coordinator' };
    expect(timeline[0]).toMatchObject({ kind: 'decision', by });
    expect(timeline[0]!.text).toMatch(/^tip registered by Anna Lindqvist \(coordinator\): smuggling;/);
    expect(timeline.find((e) => e.text === 'cancelled: Handled elsewhere.')).toMatchObject({ kind: 'decision', by });
    // Events the engine sends, and phase moves, are nobody's decision.
    expect(timeline.filter((e) => e.kind !== 'decision').every((e) => e.by === undefined)).toBe(true);
  });
});
