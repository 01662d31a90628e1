import type { KafkaClient } from '../kafka/client.js';
import type { PartitionStart } from '../pipeline/admission.js';
import { decodeRestartPoint } from './offsets.js';

/** Where one newly assigned partition is read from, and what the pipeline knows of it. */
export interface PartitionPlan {
  partition: number;
  /** First offset to read: the restart point's rebuild offset, else the committed offset, else the log start. */
  readFrom: bigint;
  /** Records before this offset were processed by an earlier owner (re-read without dead letters). */
  replayUntil: bigint;
  /** The partition's end offset when it was assigned (where a finite replay stops). */
  logEnd: bigint;
  start: PartitionStart;
}

/**
 * The reading plan for an assignment: each partition on its own, from its own restart point, so
 * partitions last committed by different members at different times are each rebuilt exactly.
 * A partition without a restart point starts at its committed offset (or the log start) fresh.
 */
export async function planAssignment(client: KafkaClient, groupId: string, topic: string, partitions: readonly number[]): Promise<PartitionPlan[]> {
  const [committed, earliest, latest] = await Promise.all([client.committedOffsets(groupId, topic), client.startOffsets(topic), client.endOffsets(topic)]);
  return partitions.map((partition) => {
    const c = committed.find((o) => o.partition === partition);
    const logStart = earliest.get(partition) ?? 0n;
    const logEnd = latest.get(partition) ?? 0n;
    // A committed offset the log no longer holds (retention) restarts at the log start.
    const committedAt = c !== undefined && c.offset >= 0n ? (c.offset < logStart ? logStart : c.offset) : logStart;
    const point = c !== undefined && c.offset >= 0n ? decodeRestartPoint(c.metadata) : undefined;
    // Retention may have removed the start of the rebuild range: the first windows after the restart
    // point then miss that data (nothing else can be done), but none is published twice.
    const rebuild = point === undefined ? undefined : point.rebuild < logStart ? logStart : point.rebuild > committedAt ? committedAt : point.rebuild;
    if (point === undefined || rebuild === undefined) {
      return {
        partition,
        readFrom: committedAt,
        replayUntil: committedAt,
        logEnd,
        start: { resumed: false, publishedThrough: -Infinity, maxEventTime: -Infinity, caughtUp: committedAt >= logEnd },
      };
    }
    return {
      partition,
      readFrom: rebuild,
      replayUntil: committedAt,
      logEnd,
      start: { resumed: true, publishedThrough: point.end, maxEventTime: point.max, caughtUp: rebuild >= logEnd },
    };
  });
}
