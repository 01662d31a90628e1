import { afterAll, describe, expect, it } from 'vitest';
import { type IncomingRecord, KafkaClient, type OutgoingRecord } from '../../src/kafka/client.js';
import { MAX_RECORD_BYTES, recordBytes } from '../../src/kafka/record-size.js';
import { deadLetterRecord, DLQ_HEADERS, fitDeadLetter } from '../../src/pipeline/dead-letter.js';
import { consumeAll } from '../cli/helpers.js';
import { brokers, uniqueTopic } from '../kafka/helpers.js';

/** A record as read from `car`, with a value of `valueBytes` bytes (a repeating pattern). */
function incoming(valueBytes: number, patch: Partial<IncomingRecord> = {}): IncomingRecord {
  const value = Buffer.alloc(valueBytes);
  for (let i = 0; i < valueBytes; i++) value[i] = 32 + (i % 90);
  return {
    topic: 'car',
    partition: 3,
    offset: 123_456_789_012n,
    key: Buffer.from('P0001'),
    value,
    headers: { origin: Buffer.from('loop-gateway-7') },
    timestampMs: 1_700_000_000_000,
    ...patch,
  };
}

const text = (v: Buffer | string | undefined) => (v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString() : v);

describe('deadLetterRecord', () => {
  it('keeps the record whole and adds provenance when it fits', () => {
    const record = incoming(500);
    const out = deadLetterRecord({ record, reason: 'BAD_JSON', detail: 'Unexpected token', events: [[2, 'SPEED']] });
    expect(out.key).toBe(record.key);
    expect(out.value).toBe(record.value);
    const h = out.headers!;
    expect(text(h.origin)).toBe('loop-gateway-7');
    expect(text(h[DLQ_HEADERS.topic])).toBe('car');
    expect(text(h[DLQ_HEADERS.partition])).toBe('3');
    expect(text(h[DLQ_HEADERS.offset])).toBe('123456789012');
    expect(text(h[DLQ_HEADERS.reason])).toBe('BAD_JSON');
    expect(text(h[DLQ_HEADERS.detail])).toBe('Unexpected token');
    expect(text(h[DLQ_HEADERS.events])).toBe('[[2,"SPEED"]]');
    expect(h[DLQ_HEADERS.valueBytes]).toBeUndefined();
    expect(h[DLQ_HEADERS.valueTruncated]).toBeUndefined();
  });

  it('cuts a 1 MB value to fit, saying so and how long it was, and keeps every header', () => {
    const record = incoming(1_048_000);
    const out = deadLetterRecord({ record, reason: 'BAD_JSON', detail: 'Unexpected end of JSON input' });
    expect(recordBytes(out)).toBe(MAX_RECORD_BYTES);
    const value = out.value as Buffer;
    expect(value.length).toBeLessThan(1_048_000);
    expect(value.length).toBeGreaterThan(MAX_RECORD_BYTES - 1_000);
    expect(value.equals(record.value!.subarray(0, value.length))).toBe(true);
    const h = out.headers!;
    expect(text(h[DLQ_HEADERS.valueBytes])).toBe('1048000');
    expect(text(h[DLQ_HEADERS.valueTruncated])).toBe('true');
    expect(text(h[DLQ_HEADERS.reason])).toBe('BAD_JSON');
    expect(text(h[DLQ_HEADERS.detail])).toBe('Unexpected end of JSON input');
    expect(text(h[DLQ_HEADERS.offset])).toBe('123456789012');
    expect(text(h.origin)).toBe('loop-gateway-7');
    expect(text(out.key as Buffer)).toBe('P0001');
  });
});

describe('fitDeadLetter', () => {
  it('returns a record that fits as it is', () => {
    const record: OutgoingRecord = { key: 'k', value: 'v'.repeat(100), headers: { a: 'b' } };
    expect(fitDeadLetter(record, 1_000)).toBe(record);
  });

  it('cuts a string value by its UTF-8 bytes', () => {
    const record: OutgoingRecord = { key: 'k', value: '€'.repeat(1_000), headers: { [DLQ_HEADERS.reason]: 'BAD_JSON' } };
    const out = fitDeadLetter(record, 1_500);
    expect(recordBytes(out)).toBe(1_500);
    expect(text(out.headers![DLQ_HEADERS.valueBytes])).toBe('3000');
    expect(Buffer.from('€'.repeat(1_000)).subarray(0, (out.value as Buffer).length).equals(out.value as Buffer)).toBe(true);
  });

  it('when key and headers alone are too large, cuts them too but keeps the source and reason whole', () => {
    const record: OutgoingRecord = {
      key: 'K'.repeat(5_000),
      value: 'v'.repeat(5_000),
      headers: {
        big: 'h'.repeat(3_000),
        [DLQ_HEADERS.topic]: 'car',
        [DLQ_HEADERS.partition]: '0',
        [DLQ_HEADERS.offset]: '42',
        [DLQ_HEADERS.reason]: 'LATE',
        [DLQ_HEADERS.detail]: 'd'.repeat(2_000),
      },
    };
    const out = fitDeadLetter(record, 4_096);
    expect(recordBytes(out)).toBeLessThanOrEqual(4_096);
    expect((out.value as Buffer).length).toBe(0);
    const h = out.headers!;
    expect([h[DLQ_HEADERS.topic], h[DLQ_HEADERS.partition], h[DLQ_HEADERS.offset], h[DLQ_HEADERS.reason]].map(text)).toEqual([
      'car',
      '0',
      '42',
      'LATE',
    ]);
    expect(text(h[DLQ_HEADERS.valueBytes])).toBe('5000');
    expect(text(h[DLQ_HEADERS.valueTruncated])).toBe('true');
    // The longest part (the key) was cut first, and the cut parts are prefixes of what they were.
    expect((out.key as Buffer).length).toBeLessThan(5_000);
    expect(text(out.key as Buffer)).toBe('K'.repeat((out.key as Buffer).length));
    expect(text(h.big)).toBe('h'.repeat(text(h.big)!.length));
  });
});

describe('a dead letter of a 1 MB record through the real broker', () => {
  const client = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-dlq' });
  afterAll(() => client.close());

  it('arrives on a topic of default settings, cut, with the truncation and provenance headers', async () => {
    const topic = uniqueTopic('dlq');
    await client.ensureTopics([{ topic, partitions: 1 }]);
    const record = incoming(1_048_000);
    const producer = await client.producer();
    try {
      await producer.send(topic, [deadLetterRecord({ record, reason: 'BAD_JSON', detail: 'Unexpected end of JSON input' })]);
    } finally {
      await producer.close();
    }
    const [got] = await consumeAll(topic, 1);
    expect(got.key?.toString()).toBe('P0001');
    expect(got.value!.length).toBeLessThan(1_048_000);
    expect(got.value!.equals(record.value!.subarray(0, got.value!.length))).toBe(true);
    expect(got.headers[DLQ_HEADERS.valueBytes]?.toString()).toBe('1048000');
    expect(got.headers[DLQ_HEADERS.valueTruncated]?.toString()).toBe('true');
    expect(got.headers[DLQ_HEADERS.topic]?.toString()).toBe('car');
    expect(got.headers[DLQ_HEADERS.partition]?.toString()).toBe('3');
    expect(got.headers[DLQ_HEADERS.offset]?.toString()).toBe('123456789012');
    expect(got.headers[DLQ_HEADERS.reason]?.toString()).toBe('BAD_JSON');
    expect(got.headers.origin?.toString()).toBe('loop-gateway-7');
  });
});
