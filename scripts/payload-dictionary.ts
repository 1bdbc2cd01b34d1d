/**
 * Makes the payload codec's deflate dictionary (vault/payload-dictionary.bin) from the decoded payloads of one
 * operation's history, as `npm run bench:bytes -- --dump DIR` writes them (DIR/los-payloads.json):
 *
 *   npx tsx scripts/payload-dictionary.ts DIR/los-payloads.json vault/payload-dictionary.bin
 *
 * What a dictionary holds is what every payload repeats: field names, event and stage names, agency and tool
 * ids, the national catalogue's legal grounds. Everything that differs from one operation to the next is cut
 * out first (sealed values' IVs and ciphertexts, operation ids, signatures, nonces, instants, people, amounts),
 * so the dictionary carries no data of any operation. A dictionary in use is never changed: payloads stored
 * with it need it to be read. A better one is a new file with its own format byte (vault/codec.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import protobufs from '@temporalio/proto';

/** Deflate reaches back at most 32 KiB: a longer dictionary is cut from its start. */
const WINDOW = 32 * 1024;

/** The payloads, least repeated first: deflate finds what sits near the end most cheaply. */
const ORDER = [
  'workflowExecutionStarted',
  'workflowExecutionCompleted',
  'workflowExecutionUpdateCompleted',
  'workflowExecutionUpdateAccepted',
  'activityTaskScheduled',
];

function sanitise(json: string): string {
  return json
    .replace(/"iv":"[^"]*","ct":"[^"]*"/g, '"iv":"","ct":""')
    .replace(/"(signature|nonce|sub|name|issuedAt)":"[^"]*"/g, '"$1":""')
    .replace(/los-[a-z0-9-]+?-[0-9a-f]{20}/g, 'los-')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{3})?)?(Z|[+-]\d\d:\d\d)/g, '')
    .replace(/"(amountSek|finesSek|sanctionFeesSek|taxReassessedSek|assetsSeizedSek)":\d+/g, '"$1":0')
    .replace(/"municipality":"[^"]*"/g, '"municipality":""');
}

const [source, target] = process.argv.slice(2);
if (!source || !target) {
  console.error('usage: tsx scripts/payload-dictionary.ts <los-payloads.json> <dictionary file>');
  process.exit(2);
}
const decoded = JSON.parse(readFileSync(source, 'utf8')) as { event: string; path: string; value: string }[];
const payloads = decoded.filter((p) => p.path.includes('payloads[') && !p.event.startsWith('markerRecorded'));
const rank = (event: string) => ORDER.findIndex((kind) => event.startsWith(kind));
const seen = new Set<string>();
const parts = payloads
  .sort((a, b) => rank(a.event) - rank(b.event))
  .map((p) => sanitise(p.value))
  .filter((text) => !seen.has(text) && seen.add(text));
// Last, what every stored Payload starts with before its JSON: its encoding, as protobuf.
const header = protobufs.temporal.api.common.v1.Payload.encode({ metadata: { encoding: Buffer.from('json/plain') } }).finish();
const dictionary = Buffer.concat([Buffer.from(parts.join(''), 'utf8'), header]);
writeFileSync(target, dictionary.subarray(Math.max(0, dictionary.length - WINDOW)));
console.log(`${target}: ${Math.min(dictionary.length, WINDOW)} bytes from ${parts.length} payloads`);
