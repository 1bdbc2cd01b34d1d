import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { problemFromEngine } from '../api/failures.js';
import { FailureType } from '../workflows/failures.js';

/**
 * A workflow's refusal as the API answers it: the failure's message (which operators read in Temporal) names the
 * field only; the one who sent the decision gets the value quoted, from the failure's encrypted details.
 */
describe('a refusal from the workflow, through the API', () => {
  it('answers with the quoted message from the details, and the fields the details name', () => {
    const cause = ApplicationFailure.create({
      message: 'reinspection rejected: reason: must give a reason',
      type: FailureType.InvalidInput,
      nonRetryable: true,
      details: [{ field: 'reason', code: 'too_small' }, { quoted: 'reinspection rejected: reason "": must give a reason' }],
    });
    const problem = problemFromEngine(new WorkflowUpdateFailedError('update failed', cause));
    expect(problem?.kind).toBe('invalid-input');
    expect(problem?.message).toBe('reinspection rejected: reason "": must give a reason');
    expect(problem?.errors).toEqual([{ field: 'reason', code: 'too_small', message: 'reinspection rejected: reason "": must give a reason' }]);
  });

  it('answers with the message as it is when the details quote nothing (a refusal that names no value)', () => {
    const cause = ApplicationFailure.create({
      message: 'schedule rejected: the operation is in phase assessment, not joint_action',
      type: FailureType.NotAllowedNow,
    });
    expect(problemFromEngine(new WorkflowUpdateFailedError('update failed', cause))?.message).toBe(
      'schedule rejected: the operation is in phase assessment, not joint_action',
    );
  });
});
