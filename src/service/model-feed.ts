import type { KafkaClient, Producer, Reader } from '../kafka/client.js';
import { decodeModelRecord } from '../model/model-record.js';
import { deadLetterRecord } from '../pipeline/dead-letter.js';
import { NO_METRICS, type ServiceMetrics } from '../observe/metrics.js';
import type { Emit } from '../observe/log.js';
import type { ModelControl } from './model-control.js';
import type { ServiceStats } from './publisher.js';

/**
 * The models topic is global state like the weather: every instance reads it whole from the
 * beginning (a private reader, never a share of a group) and follows it live. Each good record
 * changes the schedule (ModelControl: from the first window end after the record's timestamp); a
 * bad one is logged in one line and dead-lettered with provenance, and the running model stays.
 * `start` resolves once the topic is read up to its end as of the call.
 */
export class ModelFeed {
  private reader?: Reader;

  constructor(
    private readonly client: KafkaClient,
    private readonly producer: Producer,
    private readonly topics: { models: string; dlq: string },
    private readonly control: ModelControl,
    private readonly stats: ServiceStats,
    private readonly metrics: ServiceMetrics = NO_METRICS,
    private readonly emit: Emit = () => undefined,
  ) {}

  async start(): Promise<void> {
    const until = await this.client.endOffsets(this.topics.models);
    this.reader = await this.client.read({
      topic: this.topics.models,
      until,
      follow: true,
      onBatch: async (records, batch) => {
        this.metrics.recordsIn(this.topics.models, batch.partition, records.length);
        const dead = [];
        for (const record of records) {
          const decoded = decodeModelRecord(record);
          const source = `${this.topics.models} offset ${record.offset}`;
          if (decoded.ok) {
            this.control.change(decoded.role, decoded.model, record.timestampMs / 1000, source);
            continue;
          }
          const role = record.key?.toString('utf8') === 'shadow' ? 'shadow' : 'active';
          const running = this.control.current(role);
          this.emit(
            'warn',
            `saferoads: refused the record at offset ${record.offset} of ${this.topics.models} (partition ${record.partition}): ${decoded.detail}; ` +
              `the running ${role} model ${running === null ? '(none)' : `"${running.id}"`} stays (dead letter on ${this.topics.dlq}, ${decoded.reason})`,
            { topic: this.topics.models, partition: record.partition, offset: String(record.offset), reason: decoded.reason },
          );
          dead.push(deadLetterRecord({ record, reason: decoded.reason, detail: decoded.detail }));
          this.metrics.deadLetters(this.topics.models, decoded.reason, 1);
        }
        this.stats.modelDeadLetters += dead.length;
        if (dead.length > 0) await this.producer.send(this.topics.dlq, dead);
      },
    });
    await this.reader.caughtUp;
  }

  async close(): Promise<void> {
    await this.reader?.close().catch(() => undefined);
  }
}
