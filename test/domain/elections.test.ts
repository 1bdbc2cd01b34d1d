import { JetStreamApiError } from '@nats-io/jetstream';
import { NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { passesWithElection, waitOutElection } from '../../messaging/index.js';

const unavailable = () => new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' });
const noConsumer = () => new JetStreamApiError({ code: 404, err_code: 10014, description: 'consumer not found' });

/** A request that fails with the given errors, one per try, and then answers. */
function failingThen<T>(errors: Error[], answer: T) {
  let tries = 0;
  const request = async () => {
    const err = errors[tries++];
    if (err) throw err;
    return answer;
  };
  return { request, tries: () => tries };
}

describe('waiting out a JetStream leader election (messaging/elections.ts)', () => {
  it('lets a timeout, no responders and "temporarily unavailable" pass, and nothing else', () => {
    expect(passesWithElection(new TimeoutError())).toBe(true);
    expect(passesWithElection(new RequestError('no responders', { cause: new NoRespondersError('$JS.API.INFO') }))).toBe(true);
    expect(passesWithElection(unavailable())).toBe(true);
    expect(passesWithElection(new RequestError('permissions violation'))).toBe(false);
    expect(passesWithElection(noConsumer())).toBe(false);
    expect(passesWithElection(new Error('something else'))).toBe(false);
  });

  it('tries a request again through an election and returns what it answers then', async () => {
    const flaky = failingThen([unavailable(), new TimeoutError()], 'key');
    await expect(waitOutElection(flaky.request, 5_000)).resolves.toBe('key');
    expect(flaky.tries()).toBe(3);
  });

  it('throws any other error at once, without trying again', async () => {
    const missing = failingThen([noConsumer()], 'never');
    await expect(waitOutElection(missing.request, 5_000)).rejects.toThrow(/consumer not found/);
    expect(missing.tries()).toBe(1);
  });

  it('gives up after its patience and throws what the last try threw', async () => {
    const down = failingThen(Array.from({ length: 100 }, unavailable), 'never');
    await expect(waitOutElection(down.request, 600)).rejects.toThrow(/temporarily unavailable/);
    expect(down.tries()).toBeGreaterThan(1);
    expect(down.tries()).toBeLessThan(5);
  });
});
