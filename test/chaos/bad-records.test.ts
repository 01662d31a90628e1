/**
 * Fault case 4: bad input. A flood of FLOOD well-formed loop events whose point_ids are not in the
 * road table waits in the car topic before the service starts, and one ~1 MB record of garbage
 * (1 048 000 bytes: about the largest value the broker takes by default) arrives mid-stream among the
 * good records. Every bad record must reach car.dlq with its provenance headers (source topic,
 * partition, offset, reason), the good data's output must equal the fault-free run of the good data
 * alone, and the service must never exit.
 *
 * Where each bad record lands (partition, offset) is known before it is written: keys go through
 * the murmur2 partitioner and the idempotent producer writes each partition in order, so offsets
 * count up per partition (checked against the topic's end offsets afterwards).
 */
import { describe, expect, it } from 'vitest';
import { brokers } from '../kafka/helpers.js';
import { garbage, type TimedRecord, unknownPointRecords } from './dataset.js';
import type { ExpectedDeadLetter } from './compare.js';
import { CHAOS_MODE, chaosDataset, ChaosRun, concludeCase, pick, runBaseline } from './harness.js';

const FLOOD = pick(20_000, 200_000);
const GARBAGE_BYTES = 1_048_000;
const SEED = 404;

/** Each record's offset if `batches` are written in order into empty partitions. */
function offsetsInOrder(batches: readonly (readonly TimedRecord[])[], partitions: number): Map<TimedRecord, bigint> {
  const next = new Array<bigint>(partitions).fill(0n);
  const at = new Map<TimedRecord, bigint>();
  for (const batch of batches) for (const r of batch) at.set(r, next[r.partition]!++);
  return at;
}

describe(`fault suite (${CHAOS_MODE}): bad records`, () => {
  it(
    `dead-letters a flood of ${FLOOD} unknown points and a 1 MB garbage record; the good data's output is the fault-free one`,
    async () => {
      const d = chaosDataset({ points: 24, partitions: 3, minutes: pick(12, 20), ratePerSecond: 10, seed: SEED });
      const baseline = await runBaseline('bad', brokers(), d);
      const run = await ChaosRun.prepare('bad', brokers(), d);
      try {
        const flood = unknownPointRecords(d, FLOOD);
        // The garbage: keyed by a real point (a sensor gone mad), half-way through the stream.
        const middle = d.tStart + (d.tEnd - d.tStart) / 2;
        const split = d.records.findIndex((r) => r.t >= middle);
        const junk: TimedRecord = { t: d.records[split]!.t, key: d.anchors[1]!, value: garbage(GARBAGE_BYTES, SEED), partition: 1 };
        const paced = [...d.records.slice(0, split), junk, ...d.records.slice(split)];
        const offsets = offsetsInOrder([flood, paced], d.partitions);
        const expectedCarDlq: ExpectedDeadLetter[] = [
          ...flood.map((r) => ({ partition: r.partition, offset: offsets.get(r)!, key: r.key, value: Buffer.from(r.value), reason: 'UNKNOWN_POINT_ID' })),
          { partition: junk.partition, offset: offsets.get(junk)!, key: junk.key, value: junk.value as Buffer, reason: /\S/ },
        ];

        await run.produceNow(flood);
        const svc = run.spawn('svc');
        const producer = run.producer(paced, pick(1.5, 1.5)).start();
        await svc.ready;
        await producer.done;
        await run.expectCarTopic([...flood, ...paced]);
        const result = await run.finish();
        const junkDead = result.carDlq.find((x) => x.headers['saferoads-source-offset'] === String(offsets.get(junk)) && x.headers['saferoads-source-partition'] === '1');
        concludeCase({
          case: 'bad-records',
          run: result,
          baseline,
          expectedCarDlq,
          figures: {
            flood: FLOOD,
            garbageBytes: GARBAGE_BYTES,
            garbageDeadLetter: junkDead ? { reason: junkDead.headers['saferoads-reason'], valueBytes: junkDead.value?.length ?? null, truncated: junkDead.headers['saferoads-value-truncated'] ?? null } : null,
          },
        });
        expect(result.carDlq.length).toBeGreaterThanOrEqual(FLOOD + 1);
      } finally {
        await run.dispose();
      }
    },
    pick(240_000, 900_000),
  );
});
