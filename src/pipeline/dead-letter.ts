import type { IncomingRecord, OutgoingRecord } from '../kafka/client.js';

/** Header names on dead-letter records; values are UTF-8 text. */
export const DLQ_HEADERS = Object.freeze({
  topic: 'saferoads-source-topic',
  partition: 'saferoads-source-partition',
  offset: 'saferoads-source-offset',
  reason: 'saferoads-reason',
  detail: 'saferoads-detail',
  /** FlatBuffers batches: JSON [[event index, reason], …] of the refused events. */
  events: 'saferoads-rejected-events',
});

/** A record that could not be used, and why. `reason` is a stable upper-case code. */
export interface DeadLetter {
  record: IncomingRecord;
  reason: string;
  detail: string;
  /** Refused events inside a batch message (index, reason). */
  events?: [number, string][];
}

/** The dead-letter record: the original key, value and headers unchanged, plus provenance. */
export function deadLetterRecord(d: DeadLetter): OutgoingRecord {
  const headers: Record<string, Buffer | string> = { ...d.record.headers };
  headers[DLQ_HEADERS.topic] = d.record.topic;
  headers[DLQ_HEADERS.partition] = String(d.record.partition);
  headers[DLQ_HEADERS.offset] = d.record.offset.toString();
  headers[DLQ_HEADERS.reason] = d.reason;
  headers[DLQ_HEADERS.detail] = d.detail;
  if (d.events) headers[DLQ_HEADERS.events] = JSON.stringify(d.events);
  return { key: d.record.key, value: d.record.value, headers };
}
