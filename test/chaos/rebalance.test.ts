/**
 * Fault case 2: rebalances. Three instances in one consumer group on a 6-partition car topic; while
 * the producer writes, a 4th joins, then one is killed with kill -9 (its partitions wait for the
 * group to drop it), then one is stopped gracefully (SIGTERM: it commits and leaves). The union of
 * every instance's output must equal the fault-free run of a single instance.
 *
 * The join comes when the producer reached its first mark, the kill when it reached the second and
 * the group published a row after the join; the producer goes on to the next mark only once the
 * group reacted to a fault (new assignments), so every fault lands mid-stream. The graceful stop
 * comes a seeded 0.3–1.5 s after the takeover, while the stopped instance may still be rebuilding
 * the partitions it was just given (their new owner then starts from restart points behind its own).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/generate/prng.js';
import { keyPartition } from '../../src/kafka/client.js';
import { brokers } from '../kafka/helpers.js';
import { distribution, firstProgressMs } from './figures.js';
import { CHAOS_MODE, chaosDataset, ChaosRun, concludeCase, pick, runBaseline } from './harness.js';
import type { ServiceProcess } from './service-process.js';

const PARTITIONS = 6;
const SEED = 202;

function lastAssignment(p: ServiceProcess): number[] {
  return p.assignments.at(-1)?.partitions ?? [];
}

describe(`fault suite (${CHAOS_MODE}): rebalances in a group of instances`, () => {
  it(
    '3 instances, a 4th joins, one is killed, one stops gracefully: the fault-free output',
    async () => {
      const d = chaosDataset({ points: pick(30, 120), partitions: PARTITIONS, minutes: pick(16, 40), ratePerSecond: pick(10, 40), seed: SEED });
      const baseline = await runBaseline('rebalance', brokers(), d);
      const run = await ChaosRun.prepare('rebalance', brokers(), d);
      try {
        const span = d.tEnd - d.tStart;
        const marks = [0.3, 0.55, 0.8].map((f) => d.tStart + f * span);
        const producer = run.producer(d.records, pick(1, 1));
        producer.holdAt(marks[0]!);
        const [a, b, c] = [run.spawn('a'), run.spawn('b'), run.spawn('c')];
        await Promise.all([a.ready, b.ready, c.ready]);
        producer.start();

        // 1. A 4th instance joins mid-stream.
        await producer.reached(marks[0]!);
        const dd = run.spawn('d');
        await run.waitFor('the 4th instance to own partitions', () => lastAssignment(dd).length > 0, 90_000);
        const joinedAt = Date.now();
        const joinedPartitions = lastAssignment(dd);
        // The stream goes on to the next mark only now, so the new assignment meets new data.
        producer.holdAt(marks[1]!);
        await run.waitForNewOutput(await run.outputCount(), 90_000);

        // 2. kill -9 of one instance (no restart): the group gives its partitions away after the session timeout.
        await producer.reached(marks[1]!);
        await sleep(500);
        const killedPartitions = lastAssignment(b);
        expect(killedPartitions.length, 'the instance to kill owns partitions').toBeGreaterThan(0);
        run.timeline.add('note', b.who, `kill -9 while it owns [${killedPartitions.join(',')}]`);
        const killedAt = Date.now();
        await b.kill();
        const killedPoints = new Set(d.points.filter((p) => killedPartitions.includes(keyPartition(p.pointId, PARTITIONS))).map((p) => p.pointId));
        await run.waitFor(
          "the killed instance's partitions to have new owners",
          () => {
            const owned = new Set([a, c, dd].flatMap((p) => (p.alive && (p.assignments.at(-1)?.atMs ?? 0) > killedAt ? lastAssignment(p) : [])));
            return killedPartitions.every((q) => owned.has(q));
          },
          120_000,
        );
        const takenOverAt = Date.now();
        producer.holdAt(marks[2]!);

        // 3. Graceful stop of another instance (it commits and leaves the group) a seeded moment
        //    after the takeover, while it may still be rebuilding what it was just given.
        await sleep(300 + mulberry32(SEED)() * 1_200 - (Date.now() - takenOverAt));
        const stoppedPartitions = lastAssignment(c);
        run.timeline.add('note', c.who, `graceful stop while it owns [${stoppedPartitions.join(',')}]`);
        const stop = await c.stop('SIGTERM');
        expect(stop.code, `${c.who} exits 0 after SIGTERM:\n${stop.stderrTail}`).toBe(0);
        const stoppedPoints = new Set(d.points.filter((p) => stoppedPartitions.includes(keyPartition(p.pointId, PARTITIONS))).map((p) => p.pointId));
        producer.release();

        await producer.done;
        await run.expectCarTopic(d.records);
        const result = await run.finish();
        expect(result.exits.filter((e) => e.requested === 'SIGKILL')).toHaveLength(1);
        const takeover = firstProgressMs(result.rows, killedAt, killedAt, killedPoints);
        const handover = firstProgressMs(result.rows, stop.atMs, stop.atMs, stoppedPoints);
        const join = firstProgressMs(result.rows, joinedAt, joinedAt, new Set(d.points.filter((p) => joinedPartitions.includes(keyPartition(p.pointId, PARTITIONS))).map((p) => p.pointId)));
        concludeCase({
          case: 'rebalance',
          run: result,
          baseline,
          figures: {
            takeoverMs: distribution(takeover === undefined ? [] : [takeover]),
            gracefulHandoverMs: handover,
            joinToFirstRowMs: join,
            instances: run.fleet.processes.map((p) => `${p.who}: ${p.assignments.map((x) => `[${x.partitions.join(',')}]`).join(' → ')}`),
          },
        });
      } finally {
        await run.dispose();
      }
    },
    pick(240_000, 900_000),
  );
});
