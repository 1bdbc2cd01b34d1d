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
  /**
   * What was attempted. `decode`/`encode`: the codec server; `show`, `register`, `decide`: an operation read,
   * registered or decided on; `audit`: a read of this log; `disclosures`: a read of an operation's disclosure
   * register; `same_business`: a look at the operations about the same business; `list`, `admin`: listing
   * operations, rotating keys; `sign_in`: the browser's sign-in; `request`: any other request to the API; `temporal`:
   * a call to the Temporal server that its authoriser refused (scripts/temporal-refusals.ts); `erasure`: an
   * operation's data key destroyed by the erasure reconciliation because its erasure was overdue.
   */
  action: z.enum([
    'decode',
    'encode',
    'show',
    'register',
    'decide',
    'audit',
    'disclosures',
    'same_business',
    'list',
    'admin',
    'sign_in',
    'request',
    'temporal',
    'erasure',
  ]),
  /** Which payloads: their position in the request and a fingerprint of their bytes. */
  payloads: z.array(z.object({ index: z.number(), sha256: z.string() })),
  allowed: z.boolean(),
  /** What was shown: 'plaintext', 'sums only' (sealed fields left sealed), or why it was refused. */
  detail: z.string(),
  /** The caller's network address as the server saw it (behind a proxy: the proxy's). */
  address: z.string().max(100).optional(),
  /** What was asked: the method and route (`GET /v1/operations/:id`) or the codec endpoint; never a token, never a body. */
  asked: z.string().max(300).optional(),
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

  /**
   * The security log: the records that name no operation, oldest first. Refusals before any operation was named
   * (no token, a bad one, a role that may not list or rotate) and attempts refused before anything was decrypted.
   */
  unattributed(): Promise<AccessRecord[]> {
    return this.bySubject(auditSubject(undefined));
  }

  private async bySubject(subject: string): Promise<AccessRecord[]> {
    const out: AccessRecord[] = [];
    for (let after = 0; ;) {
      const page = await this.search({ subject, after, limit: SEARCH_LIMIT_MAX });
      out.push(...page.records.map(({ seq: _seq, ...record }) => record));
      if (page.next === undefined) return out;
      after = page.next;
    }
  }

  /**
   * Searches the log, oldest first: by operation (its subject, so only its records are read), by time (the
   * scan starts at the first record stored at or after `from`, found by the server, and stops at `to`), by
   * person and by allowed or refused (those two read each record of the range). Read with batched JetStream
   * direct gets: no consumer is created or left behind, and a page costs one request per SEARCH_BATCH records.
   * A page ends after `limit` matches or SEARCH_SCAN_MAX records read; `next` (a stream sequence, given back
   * as `after`) continues it.
   */
  async search(filter: AccessLogFilter): Promise<AccessLogPage> {
    const subject = filter.subject ?? (filter.operationId !== undefined || filter.unattributed ? auditSubject(filter.operationId) : 'los.v1.audit.>');
    const limit = Math.min(filter.limit ?? SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX);
    const toMs = filter.to?.getTime();
    const jsm = await jetstreamManager(this.nc);
    const records: AccessLogPage['records'] = [];
    let scanned = 0;
    let start: { seq: number } | { start_time: Date } =
      filter.after !== undefined ? { seq: filter.after + 1 } : filter.from !== undefined ? { start_time: filter.from } : { seq: 1 };
    for (;;) {
      let last: number | undefined;
      let more = false;
      try {
        const batch = await jsm.direct.getBatch(AUDIT_STREAM, { ...start, batch: SEARCH_BATCH, next_by_subj: subject } as Parameters<
          typeof jsm.direct.getBatch
        >[1]);
        for await (const stored of batch) {
          if (toMs !== undefined && stored.time.getTime() > toMs) return { records, scanned };
          last = stored.seq;
          scanned += 1;
          // Pending is how many more match after this one (-1 when the server does not say).
          more = stored.pending !== 0;
          const record = AccessRecord.parse(stored.json());
          if (matches(record, filter)) records.push({ ...record, seq: stored.seq });
          if (records.length >= limit) return { records, scanned, ...(more ? { next: stored.seq } : {}) };
        }
      } catch (err) {
        // "No results": nothing (more) on this subject from there.
        if (!isNoResults(err)) throw err;
      }
      if (last === undefined || !more) return { records, scanned };
      if (scanned >= SEARCH_SCAN_MAX) return { records, scanned, next: last };
      start = { seq: last + 1 };
    }
  }
}

/** Records per direct-get batch. */
export const SEARCH_BATCH = 256;
export const SEARCH_LIMIT_DEFAULT = 200;
export const SEARCH_LIMIT_MAX = 1000;
/** Records one page reads at most (the filters on person and outcome read every record of the range). */
export const SEARCH_SCAN_MAX = 20_000;

export interface AccessLogFilter {
  /** Only this operation's records. */
  operationId?: string;
  /** Only the security log: records that name no operation. */
  unattributed?: boolean;
  /** A subject of the stream (internal: one operation's or the security log's). */
  subject?: string;
  /** Who (the token's subject, or 'unauthenticated'). */
  who?: string;
  from?: Date;
  to?: Date;
  allowed?: boolean;
  /** @default SEARCH_LIMIT_DEFAULT, at most SEARCH_LIMIT_MAX */
  limit?: number;
  /** Continue after this stream sequence (a page's `next`). */
  after?: number;
}

export interface AccessLogPage {
  /** Each with its stream sequence. */
  records: (AccessRecord & { seq: number })[];
  /** Records read for this page. */
  scanned: number;
  /** Present when there may be more: give it as `after` for the next page. */
  next?: number;
}

function matches(record: AccessRecord, filter: AccessLogFilter): boolean {
  if (filter.who !== undefined && record.who !== filter.who) return false;
  if (filter.allowed !== undefined && record.allowed !== filter.allowed) return false;
  if (filter.from !== undefined && Date.parse(record.at) < filter.from.getTime()) return false;
  return true;
}

function isNoResults(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ''} ${String((err as { code?: unknown })?.code ?? '')}`;
  return /no results|404|no message found/i.test(text);
}
