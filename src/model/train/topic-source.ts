/**
 * History from a Kafka topic: every record value from the earliest offset to the end offsets at the
 * time of reading (what the topic holds now), through the Kafka adapter. The period is chosen by
 * event time (historyRows' fromS / toS), not by record timestamps: a topic filled by a replay has
 * record timestamps of the replay, not of the traffic.
 *
 * Records are handed on as they arrive, at most QUEUE_LIMIT waiting: the fetch waits while the
 * reader is behind, so a long topic does not pile up in memory before it is decoded.
 */
import type { KafkaClient } from '../../kafka/client.js';
import type { HistorySource } from './history.js';

const QUEUE_LIMIT = 50_000;

export function topicSource(client: KafkaClient, topic: string, brokers: readonly string[]): HistorySource {
  return {
    name: `topic ${topic} at ${brokers.join(',')}`,
    async *lines() {
      const until = await client.endOffsets(topic);
      const queue: Buffer[] = [];
      let done = false;
      let failure: unknown;
      let wake: (() => void) | undefined;
      let room: (() => void) | undefined;
      const notify = () => {
        wake?.();
        wake = undefined;
      };
      const reader = await client.read({
        topic,
        until,
        follow: false,
        onBatch: async (records) => {
          for (const r of records) if (r.value !== null) queue.push(r.value);
          notify();
          while (queue.length > QUEUE_LIMIT) await new Promise<void>((resolve) => (room = resolve));
        },
      });
      reader.caughtUp.then(
        () => {
          done = true;
          notify();
        },
        (e: unknown) => {
          failure = e;
          done = true;
          notify();
        },
      );
      try {
        for (;;) {
          if (queue.length > 0) {
            // Taken in one go: the reader refills while these are decoded.
            const taken = queue.splice(0, queue.length);
            room?.();
            room = undefined;
            for (const value of taken) yield value;
            continue;
          }
          if (failure !== undefined) throw failure;
          if (done) break;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        await reader.close();
      }
    },
  };
}
