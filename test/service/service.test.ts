import { describe, expect, it } from 'vitest';
import type { RiskRecord } from '../../src/join/types.js';
import {
  byKey,
  createTopics,
  dataset,
  expectedLastEnd,
  expectRowsMatchReference,
  flatBufferRecords,
  jsonRecords,
  parseRows,
  produce,
  readTopic,
  startService,
  uniqueTopics,
  waitFor,
  weatherRecords,
} from './scenario.js';

const MINUTES = 14;
const data = dataset(6, MINUTES, 42);

async function runOnce(format: 'json' | 'flatbuffers', shards: number): Promise<Map<string, RiskRecord>> {
  const t = uniqueTopics();
  await createTopics(t);
  await produce(t.weather, weatherRecords(data.weather));
  await produce(t.car, format === 'json' ? jsonRecords(data, data.events) : flatBufferRecords(data, data.events));
  const lastEnd = expectedLastEnd(data, data.events);
  const service = await startService(t, data, shards);
  try {
    await waitFor(() => service.stats.lastEnd === lastEnd, 60_000, `window end ${lastEnd} (at ${service.stats.lastEnd})`);
    await service.idle();
  } finally {
    await service.stop();
  }
  expect(service.stats.deadLetters).toBe(0);
  const rows = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));
  expectRowsMatchReference(rows, data, data.events, data.weather, data.startS, lastEnd);
  return rows;
}

describe('the streaming service end to end (real broker)', () => {
  const runs = new Map<string, Map<string, RiskRecord>>();

  it.each([
    ['json', 1],
    ['json', 3],
    ['flatbuffers', 1],
    ['flatbuffers', 3],
  ] as const)('%s input, %i shard(s): the output is exactly what the reference computes', async (format, shards) => {
    runs.set(`${format}/${shards}`, await runOnce(format, shards));
  });

  it('JSON and FlatBuffers input, 1 and 3 shards, give identical output', () => {
    expect(runs.size).toBe(4);
    const [first, ...rest] = [...runs.values()];
    for (const other of rest) expect(other).toEqual(first);
  });
});
