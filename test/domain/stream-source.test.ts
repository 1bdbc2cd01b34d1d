import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { streamSource } from '../../messaging/index.js';

describe('where a message of LOS_IN came from (the Nats-Stream-Source header)', () => {
  const withSource = (value: string) => {
    const h = headers();
    h.set('Nats-Stream-Source', value);
    return h;
  };

  it('reads the intake and its sequence from the header JetStream writes on a sourced message', () => {
    expect(streamSource(withSource('LOS_IN_POLISEN 42 > > los.v1.from.polisen.mandate_declined tWmou2VV'))).toEqual({ stream: 'LOS_IN_POLISEN', seq: 42 });
  });

  it('finds none on a message that was not sourced, or whose header is not of that form', () => {
    expect(streamSource(undefined)).toBeUndefined();
    expect(streamSource(headers())).toBeUndefined();
    expect(streamSource(withSource('LOS_IN_POLISEN'))).toBeUndefined();
    expect(streamSource(withSource('LOS_IN_POLISEN 0 > >'))).toBeUndefined();
    expect(streamSource(withSource('LOS_IN_POLISEN forty-two'))).toBeUndefined();
  });
});
