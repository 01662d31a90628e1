import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutgoingRecord } from '../../src/kafka/client.js';
import { chunkEnds, HEADER_OVERHEAD_BYTES, RECORD_OVERHEAD_BYTES, recordBytes } from '../../src/kafka/record-size.js';

describe('recordBytes', () => {
  it('counts UTF-8 bytes of key, value and header names and values, plus the framing', () => {
    expect(recordBytes({ key: null, value: null })).toBe(RECORD_OVERHEAD_BYTES);
    expect(recordBytes({ value: 'abc' })).toBe(RECORD_OVERHEAD_BYTES + 3);
    // "é" is two bytes in UTF-8, "€" three.
    expect(recordBytes({ key: 'é', value: Buffer.from([1, 2, 3, 4]) })).toBe(RECORD_OVERHEAD_BYTES + 2 + 4);
    expect(recordBytes({ key: 'k', value: 'v', headers: { 'n€': 'x', b: Buffer.alloc(10) } })).toBe(
      RECORD_OVERHEAD_BYTES + 1 + 1 + (HEADER_OVERHEAD_BYTES + 4 + 1) + (HEADER_OVERHEAD_BYTES + 1 + 10),
    );
  });
});

describe('chunkEnds', () => {
  const record = (valueBytes: number): OutgoingRecord => ({ key: 'k', value: 'v'.repeat(valueBytes) });

  it('gives no chunk for no records and one chunk when everything fits', () => {
    expect(chunkEnds([], 1_000)).toEqual([]);
    expect(chunkEnds([record(10), record(10)], 1_000)).toEqual([2]);
  });

  it('starts a new chunk where the next record would pass the budget, and puts an oversized record alone', () => {
    const size = recordBytes(record(100));
    expect(chunkEnds([record(100), record(100), record(100)], 2 * size)).toEqual([2, 3]);
    expect(chunkEnds([record(100), record(5_000), record(100)], 2 * size)).toEqual([1, 2, 3]);
  });

  const valueSizes = fc.array(fc.integer({ min: 0, max: 3_000 }), { maxLength: 200 });
  const budgets = fc.integer({ min: 100, max: 5_000 });

  it('covers every record in order, keeps each chunk within the budget unless it is one record, and packs greedily', () => {
    fc.assert(
      fc.property(valueSizes, budgets, (sizes, budget) => {
        const records = sizes.map(record);
        const ends = chunkEnds(records, budget);
        let start = 0;
        for (const end of ends) {
          expect(end).toBeGreaterThan(start);
          const used = records.slice(start, end).reduce((sum, r) => sum + recordBytes(r), 0);
          if (end - start > 1) expect(used).toBeLessThanOrEqual(budget);
          // Greedy: the next record would not have fitted in this chunk.
          if (end < records.length) expect(used + recordBytes(records[end])).toBeGreaterThan(budget);
          start = end;
        }
        expect(start).toBe(records.length);
      }),
    );
  });
});
