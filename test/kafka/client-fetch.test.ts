import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { fetchSettings, KafkaClient } from '../../src/kafka/client.js';

describe('fetchSettings: the consumers\' optional fetch tuning', () => {
  it('keeps the defaults when nothing is given', () => {
    expect(fetchSettings(undefined)).toEqual({});
    expect(fetchSettings({})).toEqual({});
    expect(fetchSettings({ maxBytes: undefined })).toEqual({});
  });

  it('passes valid settings through', () => {
    const all = { maxBytes: 10 << 20, maxBytesPerPartition: 4 << 20, minBytes: 65_536, maxWaitTimeInMs: 100, partitionsConsumedConcurrently: 3 };
    expect(fetchSettings(all)).toEqual(all);
    expect(fetchSettings({ maxWaitTimeInMs: 0, minBytes: 1 })).toEqual({ maxWaitTimeInMs: 0, minBytes: 1 });
  });

  it.each([
    ['maxBytes', 0],
    ['maxBytes', 1023],
    ['maxBytes', 1.5],
    ['maxBytesPerPartition', 2 ** 31],
    ['minBytes', 0],
    ['maxWaitTimeInMs', -1],
    ['maxWaitTimeInMs', 60_001],
    ['partitionsConsumedConcurrently', 0],
    ['partitionsConsumedConcurrently', 101],
    ['minBytes', '1'],
    ['maxBytes', Number.NaN],
  ] as const)('refuses %s = %s with a ConfigError naming the field', (field, value) => {
    const call = () => fetchSettings({ [field]: value } as never);
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(`fetch.${field}`);
  });

  it('refuses an unknown field and a non-object', () => {
    expect(() => fetchSettings({ maxBytez: 1 } as never)).toThrow(/fetch\.maxBytez is not a fetch setting/);
    expect(() => fetchSettings(null as never)).toThrow(ConfigError);
    expect(() => fetchSettings([] as never)).toThrow(ConfigError);
  });

  it('consume() and read() check it before connecting anywhere', async () => {
    // Nothing listens on port 1: a connection attempt would fail differently (and later).
    const client = new KafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'saferoads-test-fetch' });
    const onBatch = async () => undefined;
    await expect(client.consume({ groupId: 'g', topics: ['t'], onBatch, fetch: { minBytes: 0 } })).rejects.toThrow(/fetch\.minBytes/);
    await expect(
      client.read({ topic: 't', until: new Map([[0, 1n]]), follow: false, onBatch, fetch: { partitionsConsumedConcurrently: 1000 } }),
    ).rejects.toThrow(/fetch\.partitionsConsumedConcurrently/);
    await client.close();
  });
});
