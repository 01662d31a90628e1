/**
 * How many bytes a record takes in a produce request, estimated without encoding it, and how a list
 * of records splits into requests that stay under a byte budget. Pure: no kafkajs here, so the
 * dead-letter code can use it too.
 */
import type { OutgoingRecord } from './client.js';

/**
 * Per record, on top of key, value and header bytes: the record's length, attributes, timestamp and
 * offset deltas, key and value lengths and header count (varints, 36 bytes at most), rounded up.
 */
export const RECORD_OVERHEAD_BYTES = 70;
/** Per header: its name and value lengths (varints, 5 bytes each at most). */
export const HEADER_OVERHEAD_BYTES = 10;

/**
 * The largest record saferoads produces (by recordBytes): 1 MB less a 100 kB margin, so that a record
 * alone in its request stays well below the broker's default message.max.bytes (1 048 588) with the
 * batch and request framing; it is also the default request budget (KafkaClientOptions
 * maxRequestBytes). Dead letters are cut to fit it (fitDeadLetter); Producer.send refuses any other
 * record above it.
 */
export const MAX_RECORD_BYTES = 900_000;

function bytesOf(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** The estimated encoded size of one record: never less than what it takes on the wire. */
export function recordBytes(record: OutgoingRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + bytesOf(record.key) + bytesOf(record.value);
  const headers = record.headers;
  if (headers) {
    // for…in, not Object.entries: no array per record on the produce path.
    for (const name in headers) bytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name) + bytesOf(headers[name]);
  }
  return bytes;
}

/**
 * Splits `records`, in order, into consecutive chunks whose recordBytes add up to at most
 * `budgetBytes` each, as few as that allows (greedy), and returns each chunk's end index
 * (exclusive). A record larger than the budget by itself forms a chunk of its own. No records, no
 * chunks.
 */
export function chunkEnds(records: readonly OutgoingRecord[], budgetBytes: number): number[] {
  const ends: number[] = [];
  let used = 0;
  for (let i = 0; i < records.length; i++) {
    const bytes = recordBytes(records[i]);
    if (used > 0 && used + bytes > budgetBytes) {
      ends.push(i);
      used = 0;
    }
    used += bytes;
  }
  if (records.length > 0) ends.push(records.length);
  return ends;
}
