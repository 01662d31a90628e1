import type { TestProject } from 'vitest/node';
import { acquireCluster } from '../../src/kafka/cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

/**
 * Starts the run's Kafka broker (KAFKA_BROKERS, else Docker, else Apache Kafka on Java) and hands
 * its address to the tests as `inject('kafkaBrokers')`. The returned teardown stops it; if the
 * runner is killed outright, the broker's watchdog stops it instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const began = performance.now();
  const cluster = await acquireCluster();
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  process.stdout.write(`[saferoads] Kafka (${cluster.kind}) at ${cluster.brokers.join(',')} ready in ${seconds} s\n`);
  project.provide('kafkaBrokers', [...cluster.brokers]);
  return async () => {
    await cluster.release();
  };
}
