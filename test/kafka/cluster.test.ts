import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { acquireCluster, parseBrokerList } from '../../src/kafka/cluster.js';
import { localBrokerOptionsFromEnv, resolveLocalBrokerOptions } from '../../src/kafka/local/options.js';

describe('choosing the cluster', () => {
  it('uses KAFKA_BROKERS as given and never stops it', async () => {
    const cluster = await acquireCluster({ KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9093' });
    expect(cluster.kind).toBe('external');
    expect(cluster.brokers).toEqual(['kafka-1:9092', 'kafka-2:9093']);
    await cluster.release();
  });

  it.each([
    ['', /at least one broker/],
    ['kafka-1', /host:port.*"kafka-1"/],
    ['kafka-1:99999', /host:port.*"kafka-1:99999"/],
    ['a:1,,b', /host:port.*"b"/],
  ])('refuses KAFKA_BROKERS=%j', (value, message) => {
    expect(() => parseBrokerList(value)).toThrow(ConfigError);
    expect(() => parseBrokerList(value)).toThrow(message);
  });

  it('refuses an unknown SAFEROADS_KAFKA_MODE before starting anything', async () => {
    await expect(acquireCluster({ SAFEROADS_KAFKA_MODE: 'zookeeper' })).rejects.toThrow(/SAFEROADS_KAFKA_MODE must be jvm or docker/);
  });

  it.each([
    [{ SAFEROADS_KAFKA_PORT: 'abc' }, /SAFEROADS_KAFKA_PORT must be an integer port/],
    [{ SAFEROADS_KAFKA_PORT: '70000' }, /SAFEROADS_KAFKA_PORT must be an integer port/],
    [{ SAFEROADS_KAFKA_HEAP: 'lots' }, /SAFEROADS_KAFKA_HEAP must be a Java heap size/],
    [{ SAFEROADS_KAFKA_VERSION: 'latest' }, /SAFEROADS_KAFKA_VERSION must be a Kafka release/],
    [{ SAFEROADS_KAFKA_START_TIMEOUT_MS: '-5' }, /SAFEROADS_KAFKA_START_TIMEOUT_MS must be a positive integer/],
  ])('names the bad environment variable %j', (env, message) => {
    expect(() => localBrokerOptionsFromEnv(env)).toThrow(message);
  });

  it('names a bad option by its option name', () => {
    expect(() => resolveLocalBrokerOptions({ port: -1 })).toThrow(/^options\.port must be an integer port/);
    expect(resolveLocalBrokerOptions({ heap: '1g' }).heap).toBe('1g');
    expect(Object.isFrozen(resolveLocalBrokerOptions())).toBe(true);
  });
});
