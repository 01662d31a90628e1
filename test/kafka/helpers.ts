import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/** The run's broker addresses (from the global setup). */
export function brokers(): string[] {
  return inject('kafkaBrokers');
}

/** A topic name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** The topics and consumer group of one service under test. */
export interface ServiceTopics {
  car: string;
  weather: string;
  output: string;
  carDlq: string;
  weatherDlq: string;
  group: string;
}

/** Topic names (and a group) derived from `id`, the way every service test names them. */
export function serviceTopics(id: string): ServiceTopics {
  return { car: `${id}-car`, weather: `${id}-weather`, output: `${id}-risk`, carDlq: `${id}-car.dlq`, weatherDlq: `${id}-weather.dlq`, group: `${id}-group` };
}
