import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';

/**
 * The access log: every attempt to read an operation's personal data (a decode through the codec server, a
 * `los show`) is recorded (who, in which role, which operation, which payloads, when, allowed or refused) in
 * a JetStream stream that refuses deletes and purges. Logged access is what Brottsdatalagen and GDPR art. 10
 * expect of systems that keep crime-related personal data.
 */

export const AUDIT_STREAM = 'LOS_AUDIT';
export const auditSubject = (operationId: string | undefined) => `los.v1.audit.${operationId ?? '_none'}`;

export const AccessRecord = z.object({
  at: z.string(),
  who: z.string(),
  role: z.string(),
  /** The operation read, or none when the payloads named no operation. */
  operationId: z.string().optional(),
  /** `decide` and `audit` are refusals the API records: a decision or a read of this log it did not allow. */
  action: z.enum(['decode', 'encode', 'show', 'register', 'decide', 'audit']),
  /** Which payloads: their position in the request and a fingerprint of their bytes. */
  payloads: z.array(z.object({ index: z.number(), sha256: z.string() })),
  allowed: z.boolean(),
  /** What was shown: 'plaintext', 'sums only' (sealed fields left sealed), or why it was refused. */
  detail: z.string(),
});
export type AccessRecord = z.infer<typeof AccessRecord>;

export class AuditLog {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
  ) {}

  /** Creates the stream on first use: append only, nothing in it can be deleted or purged. */
  static async open(nc: NatsConnection, options: { replicas?: number } = {}): Promise<AuditLog> {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(AUDIT_STREAM);
    } catch {
      await jsm.streams
        .add({
          name: AUDIT_STREAM,
          subjects: ['los.v1.audit.>'],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          discard: DiscardPolicy.New,
          deny_delete: true,
          deny_purge: true,
          allow_direct: true,
          num_replicas: options.replicas ?? 1,
        })
        .catch(async (err) => {
          // Another process created it first.
          await jsm.streams.info(AUDIT_STREAM).catch(() => Promise.reject(err));
        });
    }
    return new AuditLog(nc, jetstream(nc));
  }

  async record(entry: AccessRecord): Promise<void> {
    // One record per operation read, so `los audit <operation>` finds all of them by subject.
    await this.js.publish(auditSubject(entry.operationId), JSON.stringify(AccessRecord.parse(entry)));
  }

  /** Every record about one operation, oldest first (read by subject, so no consumer is left behind). */
  forOperation(operationId: string): Promise<AccessRecord[]> {
    return this.bySubject(auditSubject(operationId));
  }

  /** The records that name no operation, oldest first: attempts refused before anything was decrypted (no valid token or session). */
  unattributed(): Promise<AccessRecord[]> {
    return this.bySubject(auditSubject(undefined));
  }

  private async bySubject(subject: string): Promise<AccessRecord[]> {
    const jsm = await jetstreamManager(this.nc);
    const out: AccessRecord[] = [];
    for (let seq = 1; ;) {
      const stored = await jsm.direct.getMessage(AUDIT_STREAM, { seq, next_by_subj: subject }).catch(() => null);
      if (!stored || !(stored.seq >= seq)) break;
      out.push(AccessRecord.parse(stored.json()));
      seq = stored.seq + 1;
    }
    return out;
  }
}
