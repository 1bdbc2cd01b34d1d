import { KeyRotation } from '../schemas.js';
import type { RouteContext } from '../server.js';
import { PROBLEM_RESPONSES } from './common.js';

/** POST /v1/admin/keys/rotate: re-wrap every data key with the current master key (an administrator's only power). */
export function adminRoutes({ app, gate, csrf, services }: RouteContext): void {
  app.post(
    '/v1/admin/keys/rotate',
    {
      schema: {
        summary: 'Rotate the master key',
        description: 'Re-wraps every data key with the API process’s current master key (LOS_MASTER_KEY: new key first, then the old ones).',
        tags: ['admin'],
        response: { 200: KeyRotation, ...PROBLEM_RESPONSES },
      },
      onRequest: [gate({ roles: ['administrator'], action: 'admin' }), csrf],
    },
    async (request) => {
      const { keys } = services();
      const { rewrapped, entries } = await keys.rotate();
      const inUse = await keys.masterKeysInUse();
      request.log.info({ who: request.person!.sub, rewrapped, entries, currentMasterKeyId: keys.currentMasterKeyId }, 'master key rotation');
      return { rewrapped, entries, currentMasterKeyId: keys.currentMasterKeyId, inUse };
    },
  );
}
