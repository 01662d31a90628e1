import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../src/kafka/client.js';
import { encodeRestartPoint } from '../../src/service/offsets.js';
import { planAssignment } from '../../src/service/restart.js';
import { brokers, uniqueTopic } from '../kafka/helpers.js';

describe('planAssignment: where each assigned partition is read from', () => {
  const client = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-restart' });
  afterAll(() => client.close());

  it('each partition on its own: restart point, plain commit, nothing committed, trimmed log', async () => {
    const topic = uniqueTopic('restart');
    const group = uniqueTopic('g');
    await client.ensureTopics([{ topic, partitions: 4 }]);
    const producer = await client.producer();
    for (let p = 0; p < 4; p++) await producer.send(topic, Array.from({ length: 20 }, (_, i) => ({ key: null, value: `r${i}`, partition: p })));
    await producer.close();
    // Retention took the first 12 records of partition 3.
    const admin = new kafkajs.Kafka({ brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] }); // kafkajs finds the leader from loaded metadata
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 3, offset: '12' }] });
    await admin.disconnect();

    // Members of the group committed: partition 0 and 3 with restart points (written at different
    // window ends, as different members do), partition 1 without metadata, partition 2 nothing.
    const consumer = await client.consume({ groupId: group, topics: [topic], fromBeginning: true, autoCommit: false, onBatch: async () => undefined });
    await consumer.ready;
    await consumer.commit([
      { topic, partition: 0, offset: 15n, metadata: encodeRestartPoint({ end: 1_800_000_600, rebuild: 7n, max: 1_800_000_650.5 }) },
      { topic, partition: 1, offset: 9n },
      { topic, partition: 3, offset: 18n, metadata: encodeRestartPoint({ end: 1_800_000_720, rebuild: 4n, max: -Infinity }) },
    ]);
    await consumer.close();

    const plans = await planAssignment(client, group, topic, [0, 1, 2, 3]);
    expect(plans.map((p) => [p.partition, p.readFrom, p.replayUntil])).toEqual([
      [0, 7n, 15n],
      [1, 9n, 9n],
      [2, 0n, 0n],
      // The rebuild offset is gone: re-read from the log start (those windows miss what retention
      // took, but none is published twice).
      [3, 12n, 18n],
    ]);
    expect(plans[0].start).toEqual({ resumed: true, publishedThrough: 1_800_000_600, maxEventTime: 1_800_000_650.5, caughtUp: false });
    expect(plans[1].start).toEqual({ resumed: false, publishedThrough: -Infinity, maxEventTime: -Infinity, caughtUp: false });
    expect(plans[2].start.resumed).toBe(false);
    expect(plans[3].start).toMatchObject({ resumed: true, publishedThrough: 1_800_000_720 });
  });

  it('a partition committed at its end offset is caught up from the start (it may turn idle)', async () => {
    const topic = uniqueTopic('restart-end');
    const group = uniqueTopic('g');
    await client.ensureTopics([{ topic, partitions: 2 }]);
    const producer = await client.producer();
    await producer.send(topic, [{ key: null, value: 'x', partition: 0 }]);
    await producer.close();
    const plans = await planAssignment(client, group, topic, [0, 1]);
    // Partition 0 has a record to read; partition 1 is empty.
    expect(plans.map((p) => p.start.caughtUp)).toEqual([false, true]);
  });
});
