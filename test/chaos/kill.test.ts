/**
 * Fault case 1: kill -9 of the service at seeded moments while the producer writes, restarting it
 * at once each time. One instance, 3 partitions. The output must equal the fault-free run's (rows may
 * repeat, byte-identical), with no dead letter and no exit we did not cause.
 *
 * Kill moments: the stream is cut at K seeded marks (event times at least two minutes apart); the
 * kill of mark i comes once the producer reached it, and either when the running process has
 * published a row since it started ("processing": it has rebuilt its state and emits), or a seeded
 * 0.3–3 s after its spawn ("startup": connecting, joining the group or rebuilding). The producer never
 * runs past the next mark before a kill, so every kill lands mid-stream.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/generate/prng.js';
import { brokers } from '../kafka/helpers.js';
import { CHAOS_MODE, chaosDataset, ChaosRun, concludeCase, pick, runBaseline } from './harness.js';

const KILLS = pick(3, 20);
const SEED = 101;

describe(`fault suite (${CHAOS_MODE}): kill -9 and restart`, () => {
  it(
    `survives ${KILLS} kills of its only instance with the fault-free output`,
    async () => {
      const d = chaosDataset({ points: pick(24, 60), partitions: 3, minutes: pick(14, 3 * KILLS + 4), ratePerSecond: pick(10, 25), seed: SEED });
      const baseline = await runBaseline('kill', brokers(), d);
      const run = await ChaosRun.prepare('kill', brokers(), d);
      try {
        const rng = mulberry32(SEED);
        const producer = run.producer(d.records, pick(1, 1));
        // Marks: K points of the stream, evenly spaced with seeded jitter (≥ 2 minutes apart).
        const gap = (d.tEnd - d.tStart) / (KILLS + 1);
        expect(gap).toBeGreaterThanOrEqual(180);
        const marks = Array.from({ length: KILLS }, (_, i) => d.tStart + (i + 1) * gap + (rng() - 0.5) * (gap - 120));
        const phases = marks.map((_, i) => (i === 0 || rng() >= 0.3 ? 'processing' : 'startup'));
        producer.holdAt(marks[0]!);
        let svc = run.spawn('svc');
        let spawnedCount = 0;
        producer.start();
        for (let i = 0; i < KILLS; i++) {
          await producer.reached(marks[i]!);
          producer.holdAt(marks[i + 1] ?? Infinity);
          if (phases[i] === 'processing') {
            const progressed = await run.waitForNewOutput(spawnedCount, 120_000);
            if (!progressed) run.timeline.add('note', svc.who, 'no new output within 120 s; killing anyway');
          } else {
            const at = svc.spawnedAtMs + 300 + rng() * 2_700;
            await sleep(Math.max(0, at - Date.now()));
          }
          await sleep(rng() * 1_000);
          run.timeline.add('note', svc.who, `kill ${i + 1}/${KILLS} (${phases[i]}) at event time ${new Date(producer.eventTime * 1000).toISOString().slice(11, 19)}`);
          await svc.kill();
          spawnedCount = await run.outputCount();
          svc = run.spawn('svc');
        }
        producer.release();
        await producer.done;
        await run.expectCarTopic(d.records);
        const result = await run.finish();
        expect(result.exits.filter((e) => e.requested === 'SIGKILL')).toHaveLength(KILLS);
        concludeCase({ case: 'kill', run: result, baseline, figures: { phases: phases.join(',') } });
      } finally {
        await run.dispose();
      }
    },
    pick(240_000, 1_800_000),
  );
});
