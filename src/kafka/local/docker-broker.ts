import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { BrokerStartError } from '../../errors.js';
import type { RunningBroker } from './jvm-broker.js';
import { freePort } from './ports.js';

/** Apache Kafka's own image, the same release as the jars the JVM path runs. */
export const KAFKA_IMAGE = 'apache/kafka:4.1.1';

/** Where a Docker engine would answer: DOCKER_HOST (unix or tcp) or the default socket. */
function dockerEndpoint(env: NodeJS.ProcessEnv): { socketPath?: string; host?: string; port?: number } | undefined {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace('tcp://', 'http://'));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  if (existsSync('/var/run/docker.sock')) return { socketPath: '/var/run/docker.sock' };
  return undefined;
}

/** True when a Docker engine answers its ping within `timeoutMs` (a client binary alone is not enough). */
export function dockerEngineAnswers(env: NodeJS.ProcessEnv = process.env, timeoutMs = 2_000): Promise<boolean> {
  const endpoint = dockerEndpoint(env);
  if (!endpoint) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ ...endpoint, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Starts Kafka in Docker with testcontainers (a dev dependency, loaded only here). The host port is
 * fixed before start so the advertised listener matches what clients dial.
 */
export async function startDockerBroker(): Promise<RunningBroker> {
  const startedAt = performance.now();
  let testcontainers: typeof import('testcontainers');
  try {
    testcontainers = await import('testcontainers');
  } catch (error) {
    throw new BrokerStartError('testcontainers is not installed: run npm install (it is a dev dependency), or set KAFKA_BROKERS=host:port', {
      cause: error,
    });
  }
  const { GenericContainer, Wait } = testcontainers;
  const port = await freePort();
  try {
    const container = await new GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: 9092, host: port })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(120_000)
      .start();
    return {
      bootstrap: `127.0.0.1:${port}`,
      pid: -1,
      workDir: '',
      timings: { fetchMs: 0, startMs: performance.now() - startedAt },
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    throw new BrokerStartError(
      `Kafka container ${KAFKA_IMAGE} did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}; check the Docker engine, or set KAFKA_BROKERS=host:port`,
      { cause: error },
    );
  }
}
