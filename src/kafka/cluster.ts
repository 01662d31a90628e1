import { ConfigError } from '../errors.js';
import { dockerEngineAnswers, startDockerBroker } from './local/docker-broker.js';
import { startJvmBroker } from './local/jvm-broker.js';
import { type LocalBrokerOptions, localBrokerOptionsFromEnv } from './local/options.js';

/** A Kafka cluster to talk to, and how it came to be. `release()` stops it if we started it. */
export interface Cluster {
  readonly brokers: readonly string[];
  readonly kind: 'external' | 'docker' | 'jvm';
  /** Milliseconds spent fetching jars and starting a broker (0 for an external cluster). */
  readonly timings: { fetchMs: number; startMs: number };
  /** Process id of a broker we started on this machine's Java, else undefined. */
  readonly pid?: number;
  release(): Promise<void>;
}

/** Parses `KAFKA_BROKERS` (`host:port[,host:port…]`). */
export function parseBrokerList(value: string, field = 'KAFKA_BROKERS'): string[] {
  const brokers = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (brokers.length === 0) throw new ConfigError(field, 'must list at least one broker as host:port');
  for (const b of brokers) {
    const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ConfigError(field, `must be host:port[,host:port…] (got "${b}")`);
    }
  }
  return brokers;
}

/**
 * The broker every test, benchmark and local run uses, chosen in this order:
 * 1. `KAFKA_BROKERS` set → that cluster (never stopped by us);
 * 2. a Docker engine answers → Apache Kafka in a container (testcontainers);
 * 3. otherwise → a single-node Apache Kafka 4 (KRaft) on this machine's Java 17, from Maven Central
 *    jars cached in .cache/kafka.
 * `SAFEROADS_KAFKA_MODE=jvm|docker` forces one of the local paths.
 */
export async function acquireCluster(
  env: NodeJS.ProcessEnv = process.env,
  localOptions: Partial<LocalBrokerOptions> = {},
  /** Aborted: a local broker still starting is stopped (its data removed) and acquireCluster rejects. */
  signal?: AbortSignal,
): Promise<Cluster> {
  if (env.KAFKA_BROKERS !== undefined && env.KAFKA_BROKERS.trim() !== '') {
    const brokers = parseBrokerList(env.KAFKA_BROKERS);
    return { brokers, kind: 'external', timings: { fetchMs: 0, startMs: 0 }, release: async () => undefined };
  }
  const mode = env.SAFEROADS_KAFKA_MODE;
  if (mode !== undefined && mode !== '' && mode !== 'jvm' && mode !== 'docker') {
    throw new ConfigError('SAFEROADS_KAFKA_MODE', `must be jvm or docker (got "${mode}"), or unset to choose by itself`);
  }
  const options = { ...localBrokerOptionsFromEnv(env), ...localOptions };
  if (mode === 'docker' || (mode !== 'jvm' && (await dockerEngineAnswers(env)))) {
    const broker = await startDockerBroker();
    return { brokers: [broker.bootstrap], kind: 'docker', timings: broker.timings, release: broker.stop };
  }
  const broker = await startJvmBroker(options, signal);
  return { brokers: [broker.bootstrap], kind: 'jvm', timings: broker.timings, pid: broker.pid, release: broker.stop };
}
