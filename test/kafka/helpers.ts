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
