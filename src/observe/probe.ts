import type { RiskLevels } from '../model/risk-levels.js';
/**
 * What the running service shows to the observability layer, read when someone asks (a scrape, a
 * health check): gauges and health come from here, so nothing on the hot path works for them.
 * Counters and histograms are pushed instead (ServiceMetrics, metrics.ts).
 */

/** One shard thread (Piscina pool of one) as the host sees it. */
export interface ShardStatus {
  /** Worker threads alive (1 normally; 0 while a crashed one is being replaced). */
  threads: number;
  /** Tasks handed to the shard and not finished (the running one included). */
  pending: number;
  /** performance.now() of the shard's last progress: a task finished, or work arrived while idle. */
  lastProgressMs: number;
  /** WASM memory of the shard's kernel, bytes (fixed at init: window rings of its points + buffers). */
  kernelBytes: number;
}

export interface ServiceProbe {
  /** Topic names, for labels. */
  readonly carTopic: string;
  readonly weatherTopic: string;
  /** The models topic (its dead-letter reasons show from 0); none: not shown until one happens. */
  readonly modelsTopic?: string;
  /** The score bands the service reads its scores with (--risk-levels, else the model's). */
  readonly riskLevels?: RiskLevels;
  /** Seconds between window ends (the window spec's advance). */
  readonly advanceS?: number;
  /** The weather topic was read up to its end as of the start. */
  weatherCaughtUp(): boolean;
  /** The car partitions this instance owns; undefined before the group's first assignment. */
  assignment(): readonly number[] | undefined;
  /** Assigned partitions still re-reading what an earlier owner processed (rebuilding window state). */
  rebuilding(): readonly number[];
  /** Date.now() of the car consumer's last completed fetch (−Infinity: none yet). */
  lastFetchMs(): number;
  /** Date.now() of the last answer from Kafka before an outage in progress; undefined while it answers. */
  brokerUnreachableSinceMs?(): number | undefined;
  /** The error that stopped the service's progress, if any. */
  failure(): unknown;
  /** The stream watermark W, epoch seconds (−Infinity before the stream started). */
  watermarkS(): number;
  /** Per assigned partition: end offset − position (how many records wait to be read). */
  consumerLag(visit: (partition: number, lag: number) => void): void;
  /** Latest weather reading timestamp (epoch s) per station of the road-points table (−Infinity: none). */
  weatherLatest(): ReadonlyMap<string, number>;
  shards(): readonly ShardStatus[];
}
