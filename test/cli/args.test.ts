import { describe, expect, it } from 'vitest';
import { brokerList, choice, decimal, defineCommand, envName, flag, flagName, helpText, integer, option, parseCommand, text } from '../../src/cli/args.js';
import { ConfigError, exitCodeFor } from '../../src/errors.js';

const CMD = defineCommand({
  name: 'demo',
  summary: 'A demo command.',
  positionals: [{ name: 'FILE', help: 'input file', required: true }],
  options: {
    shards: option({ schema: integer(1), default: 2, valueName: 'N', help: 'worker shards' }),
    port: option({ schema: integer(1, 65535), valueName: 'PORT', help: 'a port' }),
    rate: option({ schema: decimal({ exclusiveMin: 0 }), default: 1.5, help: 'a rate' }),
    format: option({ schema: choice(['json', 'flatbuffers'] as const), default: 'json' as 'json' | 'flatbuffers', help: 'format' }),
    carTopic: option({ schema: text(), default: 'car', help: 'topic' }),
    brokers: option({ schema: brokerList(), envAliases: ['KAFKA_BROKERS'], help: 'brokers' }),
    realtime: flag('pace by wall clock'),
  },
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(exitCodeFor(e)).toBe(2);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('names', () => {
  it('derives flag and environment names from the key', () => {
    expect(flagName('carTopic')).toBe('--car-topic');
    expect(envName('carTopic')).toBe('SAFEROADS_CAR_TOPIC');
    expect(envName('shards')).toBe('SAFEROADS_SHARDS');
  });
});

describe('parseCommand', () => {
  it('fills defaults, parses flags into typed values and keeps positionals', () => {
    const p = parseCommand(CMD, ['in.ndjson', '--shards', '4', '--rate=2.5', '--format', 'flatbuffers', '--realtime', '--brokers', 'a:1, b:2'], {});
    expect(p.help).toBe(false);
    expect(p.positionals).toEqual(['in.ndjson']);
    expect(p.values).toEqual({ shards: 4, port: undefined, rate: 2.5, format: 'flatbuffers', carTopic: 'car', brokers: ['a:1', 'b:2'], realtime: true });
    expect(p.sources.shards).toBe('flag');
    expect(p.sources.carTopic).toBe('default');
    expect(p.sources.port).toBe('unset');
  });

  it('reads SAFEROADS_<NAME> and aliases; a flag wins over the environment', () => {
    const env = { SAFEROADS_SHARDS: '8', SAFEROADS_CAR_TOPIC: 'cars2', KAFKA_BROKERS: 'k:9092', SAFEROADS_REALTIME: 'true' };
    const p = parseCommand(CMD, ['f'], env);
    expect(p.values.shards).toBe(8);
    expect(p.values.carTopic).toBe('cars2');
    expect(p.values.brokers).toEqual(['k:9092']);
    expect(p.values.realtime).toBe(true);
    expect(p.sources.shards).toBe('env');
    expect(parseCommand(CMD, ['f', '--shards', '3'], env).values.shards).toBe(3);
    expect(parseCommand(CMD, ['f'], { ...env, SAFEROADS_BROKERS: 's:1' }).values.brokers).toEqual(['s:1']);
  });

  it('answers --help without validating anything else', () => {
    expect(parseCommand(CMD, ['--help'], { SAFEROADS_SHARDS: 'x' }).help).toBe(true);
    expect(parseCommand(CMD, ['-h'], {}).help).toBe(true);
  });

  it.each([
    [['f', '--shards', 'x'], '--shards', '--shards must be a positive integer (got "x")'],
    [['f', '--shards', '0'], '--shards', '--shards must be a positive integer (got "0")'],
    [['f', '--shards', '1.5'], '--shards', '--shards must be a positive integer (got "1.5")'],
    [['f', '--port', '70000'], '--port', '--port must be an integer from 1 to 65535 (got "70000")'],
    [['f', '--rate=-1'], '--rate', '--rate must be a positive number (got "-1")'],
    [['f', '--rate', '-1'], '--rate', '--rate needs a value (one starting with "-" is written --rate=-…)'],
    [['f', '--rate', 'fast'], '--rate', '--rate must be a positive number (got "fast")'],
    [['f', '--format', 'xml'], '--format', '--format must be json or flatbuffers (got "xml")'],
    [['f', '--car-topic', ''], '--car-topic', '--car-topic must not be empty (got "")'],
    [['f', '--brokers', 'nohost'], '--brokers', '--brokers must be host:port[,host:port…] (got "nohost")'],
    [['f', '--brokers', 'a:99999'], '--brokers', '--brokers must be host:port[,host:port…] (got "a:99999")'],
  ])('%j → ConfigError naming the flag', (argv, field, message) => {
    const e = configError(() => parseCommand(CMD, argv, {}));
    expect(e.field).toBe(field);
    expect(e.message).toBe(message);
  });

  it('names the environment variable when the bad value came from it', () => {
    const e = configError(() => parseCommand(CMD, ['f'], { SAFEROADS_SHARDS: 'many' }));
    expect(e.field).toBe('SAFEROADS_SHARDS');
    expect(e.message).toBe('SAFEROADS_SHARDS must be a positive integer (got "many")');
    const b = configError(() => parseCommand(CMD, ['f'], { KAFKA_BROKERS: 'x' }));
    expect(b.field).toBe('KAFKA_BROKERS');
    const r = configError(() => parseCommand(CMD, ['f'], { SAFEROADS_REALTIME: 'maybe' }));
    expect(r.field).toBe('SAFEROADS_REALTIME');
  });

  it('names an unknown flag, a flag without its value and a switch given a value', () => {
    const unknown = configError(() => parseCommand(CMD, ['f', '--shard', '2'], {}));
    expect(unknown.field).toBe('--shard');
    expect(unknown.message).toMatch(/^--shard is not an option of saferoads demo/);
    const missing = configError(() => parseCommand(CMD, ['f', '--shards'], {}));
    expect(missing.field).toBe('--shards');
    expect(missing.message).toBe('--shards needs a value');
    const valued = configError(() => parseCommand(CMD, ['f', '--realtime=yes'], {}));
    expect(valued.field).toBe('--realtime');
    expect(valued.message).toBe('--realtime takes no value');
  });

  it('names a missing required positional and an extra one', () => {
    const missing = configError(() => parseCommand(CMD, [], {}));
    expect(missing.field).toBe('FILE');
    const extra = configError(() => parseCommand(CMD, ['a', 'b'], {}));
    expect(extra.field).toBe('"b"');
    expect(extra.message).toMatch(/^"b" is not an argument of saferoads demo/);
  });
});

describe('helpText', () => {
  it('lists every flag with its placeholder, default and environment variable', () => {
    const help = helpText(CMD);
    expect(help).toMatch(/^Usage: saferoads demo FILE \[options\]/);
    expect(help).toContain('A demo command.');
    for (const key of Object.keys(CMD.options)) {
      expect(help).toContain(flagName(key));
      expect(help).toContain(envName(key));
    }
    expect(help).toMatch(/--shards N\s+worker shards \(default 2; env SAFEROADS_SHARDS\)/);
    expect(help).toContain('env SAFEROADS_BROKERS or KAFKA_BROKERS');
    expect(help).toContain('--help');
  });
});
