/**
 * Fault case 3: the broker goes away mid-stream (its JVM killed outright) for OUTAGE_S seconds and
 * comes back on the same port with its data. The service must ride it out — never exit — and its
 * output must equal the fault-free run's.
 *
 * The case runs its own broker (the shared one serves the other test files), on this machine's Java
 * whatever KAFKA_BROKERS or Docker say: halt()/resume() exist only there. If that broker cannot start
 * the case fails; it is never skipped. The broker is killed right after a burst of several minutes
 * of event time was written at once, while the service is still reading, publishing and committing
 * it. The producer pauses (after the send in flight) before the outage and resumes after it, so the
 * input is the same records in the same order as always.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import { type JvmBroker, startJvmBroker } from '../../src/kafka/local/jvm-broker.js';
import { distribution, firstProgressMs } from './figures.js';
import { CHAOS_MODE, chaosDataset, ChaosRun, concludeCase, pick, runBaseline } from './harness.js';

const OUTAGE_S = pick(20, 90);
/**
 * Shorter than the outage, as in the field (60 s by default): partitions the service cannot fetch
 * must not count as idle, or the first partition back would drive the watermark alone.
 */
const IDLE_TIMEOUT_S = pick(8, 60);
const EXTRA_ARGS = ['--idle-timeout', String(IDLE_TIMEOUT_S)];
const SEED = 303;

describe(`fault suite (${CHAOS_MODE}): broker outage`, () => {
  it(
    `keeps running through a ${OUTAGE_S} s broker outage (idle timeout ${IDLE_TIMEOUT_S} s) and publishes the fault-free output`,
    async () => {
      let broker: JvmBroker | undefined;
      let run: ChaosRun | undefined;
      try {
        broker = await startJvmBroker();
        const brokers = [broker.bootstrap];
        const d = chaosDataset({ points: pick(24, 60), partitions: 3, minutes: pick(14, 30), ratePerSecond: pick(10, 25), seed: SEED });
        const baseline = await runBaseline('bounce', brokers, d, { extraArgs: EXTRA_ARGS });
        run = await ChaosRun.prepare('bounce', brokers, d, { extraArgs: EXTRA_ARGS });

        const mark = d.tStart + 0.35 * (d.tEnd - d.tStart);
        const burstEnd = d.tStart + 0.6 * (d.tEnd - d.tStart);
        const producer = run.producer(d.records, pick(1, 1));
        producer.holdAt(mark);
        const svc = run.spawn('svc');
        await svc.ready;
        producer.start();
        await producer.reached(mark);
        // The service is processing (a row published after the mark's data arrived) ...
        await run.waitForNewOutput(0, 60_000);
        // ... then a burst of minutes of event time lands at once, and the broker goes down right
        // after it is written: the service is still fetching, publishing and committing it.
        producer.setPace(Infinity);
        producer.holdAt(burstEnd);
        await producer.reached(burstEnd);
        await producer.pause();
        producer.setPace(pick(1, 1));
        producer.release();

        run.timeline.add('broker-halt', undefined, `SIGKILL of the broker JVM (pid ${broker.pid}) for ${OUTAGE_S} s`);
        const haltedAt = Date.now();
        await broker.halt('SIGKILL');
        await sleep(OUTAGE_S * 1000);
        const resumeCalledAt = Date.now();
        await broker.resume();
        const resumedAt = Date.now();
        run.timeline.add('broker-resume', undefined, `answering again after ${((resumedAt - resumeCalledAt) / 1000).toFixed(1)} s of start-up (pid ${broker.pid})`);
        producer.resume();

        await producer.done;
        await run.expectCarTopic(d.records);
        // (a service that exited shows in the verdict as a bad exit, with the rows it left missing)
        run.timeline.add('note', svc.who, svc.alive ? 'still running after the outage' : 'NOT running after the outage');
        const result = await run.finish();
        const resume = firstProgressMs(result.rows, haltedAt, resumedAt);
        const busy = result.rows.filter((r) => r.timestampMs >= haltedAt - 1_000 && r.timestampMs < haltedAt).length;
        concludeCase({
          case: 'broker-bounce',
          run: result,
          baseline,
          figures: {
            outageMs: [resumedAt - haltedAt],
            outageToResumeMs: distribution(resume === undefined ? [] : [resume]),
            rowsInTheSecondBeforeTheHalt: busy,
            rowsProducedBeforeTheHalt: result.rows.filter((r) => r.timestampMs < haltedAt).length,
          },
        });
      } finally {
        await run?.dispose();
        await broker?.stop();
      }
    },
    pick(240_000, 900_000),
  );
});
