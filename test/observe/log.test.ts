import { describe, expect, it } from 'vitest';
import { createLogger, emitter, kafkaLogging, lineLog, prettyLine, type StructuredLogger } from '../../src/observe/log.js';

/** A logger writing into an array (JSON lines, or readable ones with `tty`). */
function captured(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug', tty = false): { logger: StructuredLogger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level, stream: { write: (chunk: string) => lines.push(...chunk.split('\n').filter((l) => l !== '')), isTTY: tty } });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per record, with level name, time, msg and the fields', () => {
    const { logger, lines } = captured('info');
    logger.info({ group: 'g', partitions: [0, 1] }, 'assigned');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'info', msg: 'assigned', group: 'g', partitions: [0, 1] });
    expect(typeof record.time).toBe('string');
    expect(record).not.toHaveProperty('pid');
  });

  it('drops records below its level', () => {
    const { logger, lines } = captured('warn');
    logger.info({}, 'hidden');
    logger.debug({}, 'hidden too');
    logger.warn({}, 'shown');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['shown']);
  });

  it('on a terminal: one readable line, the fields of a library record after its message', () => {
    const { logger, lines } = captured('debug', true);
    logger.warn({ attempt: 2 }, 'cannot connect');
    logger.error({ component: 'kafkajs', namespace: 'Consumer', groupId: 'g 1', error: 'refused' }, 'Crash');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  cannot connect$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR \[kafkajs Consumer\] Crash groupId="g 1" error=refused$/);
  });

  it('prettyLine passes a line that is not JSON through', () => {
    expect(prettyLine('plain text')).toBe('plain text\n');
  });
});

describe('emitter and lineLog', () => {
  it('a plain function gets the line as it was; debug records are not given to it', () => {
    const got: string[] = [];
    const emit = emitter((line) => got.push(line));
    emit('info', 'saferoads: group g assigned partitions [0]', { group: 'g' });
    emit('debug', 'saferoads: detail');
    expect(got).toEqual(['saferoads: group g assigned partitions [0]']);
  });

  it('a logger gets a record at the level, without the "saferoads: " prefix, with the fields', () => {
    const { logger, lines } = captured('info');
    emitter(logger)('warn', 'saferoads: cannot connect (attempt 2)', { attempt: 2 });
    lineLog(logger)('saferoads run: stopping…');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'cannot connect (attempt 2)', attempt: 2 }),
      expect.objectContaining({ level: 'info', msg: 'stopping…' }),
    ]);
  });
});

describe('kafkaLogging', () => {
  it("a logger's level is the client's; records carry component kafkajs and the namespace", () => {
    const { logger, lines } = captured('warn');
    const logging = kafkaLogging(logger);
    expect(logging.logLevel).toBe('warn');
    expect(kafkaLogging(captured('fatal').logger).logLevel).toBe('nothing');
    logging.logger({ level: 'error', namespace: 'Consumer', message: 'Crash: KafkaJSConnectionError', fields: { groupId: 'g' } });
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', component: 'kafkajs', namespace: 'Consumer', groupId: 'g', msg: 'Crash: KafkaJSConnectionError' });
  });

  it('after quiet() its errors and warnings are debug records (expected while stopping)', () => {
    const info = captured('info');
    const debug = captured('debug');
    for (const { logger } of [info, debug]) {
      const logging = kafkaLogging(logger);
      logging.quiet();
      logging.logger({ level: 'error', namespace: 'Connection', message: 'Connection error: connect ECONNREFUSED', fields: {} });
    }
    expect(info.lines).toEqual([]);
    expect(JSON.parse(debug.lines[0]!)).toMatchObject({ level: 'debug', component: 'kafkajs', namespace: 'Connection' });
  });
});
