import type { Bytes, IncomingRecord, OutgoingRecord } from '../kafka/client.js';
import { MAX_RECORD_BYTES, recordBytes } from '../kafka/record-size.js';

/** Header names on dead-letter records; values are UTF-8 text. */
export const DLQ_HEADERS = Object.freeze({
  topic: 'saferoads-source-topic',
  partition: 'saferoads-source-partition',
  offset: 'saferoads-source-offset',
  reason: 'saferoads-reason',
  detail: 'saferoads-detail',
  /** FlatBuffers batches: JSON [[event index, reason], …] of the refused events. */
  events: 'saferoads-rejected-events',
  /** Set when the value was cut to fit (fitDeadLetter): the original value's length in bytes, decimal. */
  valueBytes: 'saferoads-value-bytes',
  /** `true` when the value was cut to fit; absent otherwise. */
  valueTruncated: 'saferoads-value-truncated',
});

/** A record that could not be used, and why. `reason` is a stable upper-case code. */
export interface DeadLetter {
  record: IncomingRecord;
  reason: string;
  detail: string;
  /** Refused events inside a batch message (index, reason). */
  events?: [number, string][];
}

/**
 * The dead-letter record: the original key, value and headers unchanged, plus provenance, cut to fit
 * the largest record the producer takes (fitDeadLetter), so that dead-lettering never fails.
 */
export function deadLetterRecord(d: DeadLetter): OutgoingRecord {
  const headers: Record<string, Buffer | string> = { ...d.record.headers };
  headers[DLQ_HEADERS.topic] = d.record.topic;
  headers[DLQ_HEADERS.partition] = String(d.record.partition);
  headers[DLQ_HEADERS.offset] = d.record.offset.toString();
  headers[DLQ_HEADERS.reason] = d.reason;
  headers[DLQ_HEADERS.detail] = d.detail;
  if (d.events) headers[DLQ_HEADERS.events] = JSON.stringify(d.events);
  return fitDeadLetter({ key: d.record.key, value: d.record.value, headers });
}

const EMPTY = Buffer.alloc(0);

/** Provenance headers that are never cut: short by construction, and what a reader looks up first. */
const KEPT_WHOLE: ReadonlySet<string> = new Set([
  DLQ_HEADERS.topic,
  DLQ_HEADERS.partition,
  DLQ_HEADERS.offset,
  DLQ_HEADERS.reason,
  DLQ_HEADERS.valueBytes,
  DLQ_HEADERS.valueTruncated,
]);

function bytes(value: Bytes): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/**
 * A dead-letter record that fits `maxBytes` (by recordBytes, default MAX_RECORD_BYTES): the record
 * itself when it does; else its value cut to the bytes that fit (a prefix, no copy), with headers
 * DLQ_HEADERS.valueBytes (the original value's length) and DLQ_HEADERS.valueTruncated = `true`; every
 * other header stays. Needed because a bad record can be as large as its source topic allows
 * (about 1 MiB by default): with the provenance headers added, more than the producer takes.
 *
 * Should the key and headers alone not fit (a giant key or header: not seen in practice), the value
 * is emptied and then the key and the header values other than topic, partition, offset and reason
 * are cut too, longest first. `maxBytes` must leave room for those kept headers (4 096 is plenty).
 */
export function fitDeadLetter(record: OutgoingRecord, maxBytes: number = MAX_RECORD_BYTES): OutgoingRecord {
  if (recordBytes(record) <= maxBytes) return record;
  const value = record.value === null ? EMPTY : bytes(record.value);
  const headers: Record<string, Bytes> = {
    ...record.headers,
    [DLQ_HEADERS.valueBytes]: String(value.length),
    [DLQ_HEADERS.valueTruncated]: 'true',
  };
  const rest = recordBytes({ ...record, value: null, headers });
  if (rest <= maxBytes) return { ...record, value: value.subarray(0, maxBytes - rest), headers };

  // The pathological case: cut the key and the cuttable header values, longest first.
  let excess = rest - maxBytes;
  let key = record.key === undefined || record.key === null ? null : bytes(record.key);
  const cuttable: { name: string | null; data: Buffer }[] = [];
  if (key !== null) cuttable.push({ name: null, data: key });
  for (const name in headers) if (!KEPT_WHOLE.has(name)) cuttable.push({ name, data: bytes(headers[name]) });
  cuttable.sort((a, b) => b.data.length - a.data.length);
  for (const part of cuttable) {
    if (excess <= 0) break;
    const cut = Math.min(excess, part.data.length);
    const kept = part.data.subarray(0, part.data.length - cut);
    if (part.name === null) key = kept;
    else headers[part.name] = kept;
    excess -= cut;
  }
  return { ...record, key, value: EMPTY, headers };
}
