import { describe, expect, it } from 'vitest';
import { encodeDataset, makeDataset, PARTITIONS, partitionOfPoint } from '../../bench/lib/dataset.js';
import { decodeLoopEventBatch } from '../../src/codec/loop-event-batch.js';
import type { OutgoingRecord } from '../../src/kafka/client.js';

describe('bench dataset: FlatBuffers messages of a fixed number of events', () => {
  const dataset = makeDataset({ events: 3_000, points: 30 });
  const pointPartition = new Map(dataset.points.map((p) => [p.pointId, partitionOfPoint(p.pointId)]));

  async function encode(perMessage?: number) {
    const records: OutgoingRecord[] = [];
    const expected = await encodeDataset(dataset, 'flatbuffers', ({ records: r }) => void records.push(...r), 50, perMessage);
    return { records, expected };
  }

  it.each([1, 10, 100, 1000])('%i events per message: same events and expected output, one partition per message, in time order', async (n) => {
    const natural = await encode();
    const { records, expected } = await encode(n);
    expect(expected.events).toBe(3_000);
    // Only the grouping changes: the window ends and rows to expect are those of the natural grouping.
    expect({ ...expected, records: 0, partitionRecords: [] }).toEqual({ ...natural.expected, records: 0, partitionRecords: [] });
    expect(expected.records).toBe(records.length);
    const last = new Array<number>(PARTITIONS).fill(-Infinity);
    const perPartition = new Array<number>(PARTITIONS).fill(0);
    const shortOnes = new Array<number>(PARTITIONS).fill(0);
    let events = 0;
    for (const r of records) {
      const p = r.partition!;
      perPartition[p]++;
      expect(r.key).toBeNull();
      const { pointIds, columns } = decodeLoopEventBatch(r.value as Buffer);
      if (columns.count !== n) shortOnes[p]++;
      expect(columns.count).toBeLessThanOrEqual(n);
      events += columns.count;
      for (let i = 0; i < columns.count; i++) {
        expect(pointPartition.get(pointIds[columns.point[i]])).toBe(p);
        expect(columns.tOut2[i]).toBeGreaterThanOrEqual(last[p]);
        last[p] = columns.tOut2[i];
      }
    }
    expect(events).toBe(3_000);
    expect(perPartition).toEqual(expected.partitionRecords);
    // Only each partition's last message may be shorter.
    for (const k of shortOnes) expect(k).toBeLessThanOrEqual(1);
  });

  it('refuses a count below 1 and JSON', async () => {
    await expect(encode(0)).rejects.toThrow(RangeError);
    await expect(encodeDataset(dataset, 'json', () => undefined, 50, 10)).rejects.toThrow(RangeError);
  });
});
