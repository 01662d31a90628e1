import type { WeatherReading } from '../join/types.js';
import type { KafkaClient, OutgoingRecord, Producer, Reader } from '../kafka/client.js';
import { deadLetterRecord } from '../pipeline/dead-letter.js';
import type { ShardPool } from '../pipeline/shard-pool.js';
import { NO_METRICS, type ServiceMetrics } from '../observe/metrics.js';
import { decodeWeather } from '../weather/decode.js';
import type { ServiceStats } from './publisher.js';

/**
 * Weather is global state: every instance reads the whole topic (a private reader, never a share
 * of a group), broadcasts each reading to every shard, and dead-letters bad readings.
 * `start` resolves once the topic is read up to its end as of the call (caught up); reading goes
 * on live after that.
 */
export class WeatherFeed {
  private reader?: Reader;
  /** The topic was read up to its end as of `start`. */
  caughtUp = false;

  constructor(
    private readonly client: KafkaClient,
    private readonly pool: ShardPool,
    private readonly producer: Producer,
    private readonly topics: { weather: string; dlq: string },
    private readonly stats: ServiceStats,
    private readonly metrics: ServiceMetrics = NO_METRICS,
    /**
     * Latest reading timestamp per station, kept for the stations it lists (those of the road-points
     * table: a bounded set, whatever stations the topic carries).
     */
    readonly latest: Map<string, number> = new Map(),
  ) {}

  async start(): Promise<void> {
    const until = await this.client.endOffsets(this.topics.weather);
    this.reader = await this.client.read({
      topic: this.topics.weather,
      until,
      follow: true,
      onBatch: async (records, batch) => {
        const readings: WeatherReading[] = [];
        const dead: OutgoingRecord[] = [];
        for (const record of records) {
          const decoded = decodeWeather(record.value);
          if (decoded.ok) {
            readings.push(decoded.reading);
            const seen = this.latest.get(decoded.reading.station);
            if (seen !== undefined && decoded.reading.timestamp > seen) this.latest.set(decoded.reading.station, decoded.reading.timestamp);
          } else {
            dead.push(deadLetterRecord({ record, reason: decoded.reason, detail: decoded.detail }));
            this.metrics.deadLetters(this.topics.weather, decoded.reason, 1);
          }
        }
        this.metrics.recordsIn(this.topics.weather, batch.partition, records.length);
        this.stats.weatherReadings += readings.length;
        this.stats.weatherDeadLetters += dead.length;
        // Shard queues are FIFO: rows emitted after this are joined with these readings.
        await Promise.all([
          readings.length > 0 ? this.pool.broadcastWeather(readings) : undefined,
          dead.length > 0 ? this.producer.send(this.topics.dlq, dead) : undefined,
        ]);
      },
    });
    await this.reader.caughtUp;
    this.caughtUp = true;
  }

  async close(): Promise<void> {
    await this.reader?.close().catch(() => undefined);
  }
}
