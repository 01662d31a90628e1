import { describe, expect, it } from 'vitest';
import type { IncomingRecord } from '../../src/kafka/client.js';
import { packRecords } from '../../src/pipeline/dispatcher.js';

function record(offset: number, key: Buffer | null, value: Buffer | null): IncomingRecord {
  return { topic: 'car', partition: 2, offset: BigInt(offset), key, value, headers: {}, timestampMs: 0 };
}

/** What the shard reads back from a packed task, per record. */
function unpack(task: ReturnType<typeof packRecords>): { offset: number; key: string | null; value: string | null }[] {
  const bytes = Buffer.from(task.bytes);
  return Array.from({ length: task.count }, (_, k) => ({
    offset: task.offsets[k],
    key: (task.nulls[k] & 2) === 2 ? null : bytes.subarray(task.keyStart[k], task.keyEnd[k]).toString(),
    value: (task.nulls[k] & 1) === 1 ? null : bytes.subarray(task.valueStart[k], task.valueEnd[k]).toString(),
  }));
}

describe('packRecords: a fetched batch as one buffer for its shard', () => {
  const contents = [
    { key: 'P1', value: '{"a":1}' },
    { key: null, value: '{"b":22}' },
    { key: 'P333', value: null },
    { key: '', value: '' },
  ];

  it('records that are views into one fetched buffer: one copy of their span, every key and value intact', () => {
    // As kafkajs hands them out: slices of the response, with other bytes between them.
    const response = Buffer.alloc(1000, 0x7e);
    let at = 17;
    const records = contents.map((c, k) => {
      const slice = (text: string | null) => {
        if (text === null) return null;
        const b = response.subarray(at, at + text.length);
        b.write(text);
        at += text.length + 5;
        return b;
      };
      return record(100 + k, slice(c.key), slice(c.value));
    });
    const task = packRecords(records, 2, 1);
    expect(task.bytes.byteLength).toBeLessThan(response.length);
    expect(unpack(task)).toEqual(contents.map((c, k) => ({ offset: 100 + k, ...c })));
  });

  it('records in separate buffers are copied one by one, every key and value intact', () => {
    const records = contents.map((c, k) => record(7 + k, c.key === null ? null : Buffer.from(c.key), c.value === null ? null : Buffer.from(c.value)));
    const task = packRecords(records, 2, 1);
    expect(task.bytes.byteLength).toBe(contents.reduce((n, c) => n + (c.key?.length ?? 0) + (c.value?.length ?? 0), 0));
    expect(unpack(task)).toEqual(contents.map((c, k) => ({ offset: 7 + k, ...c })));
  });
});
