import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_PATH, loadRiskModel, riskModel } from '../../src/model/risk-model.js';
import type { ShardPool } from '../../src/pipeline/shard-pool.js';
import type { ModelsTask } from '../../src/pipeline/shard-protocol.js';
import { ModelControl } from '../../src/service/model-control.js';
import { decodeModelRecord, ModelRejectReason } from '../../src/model/model-record.js';

const base = loadRiskModel(DEFAULT_MODEL_PATH);
const v2 = riskModel({ id: 'v2', intercept: -1, features: { occupancy: 2 } }, 'test');

function control(nextEnd: { value: number }) {
  const sent: ModelsTask['schedule'][] = [];
  const lines: string[] = [];
  const pool = { broadcastModels: (schedule: ModelsTask['schedule']) => (sent.push(schedule), Promise.resolve([])) } as unknown as ShardPool;
  const c = new ModelControl(base, null, pool, 60, () => nextEnd.value, (_level, line) => lines.push(line), (e) => {
    throw e;
  });
  return { c, sent, lines };
}

describe('ModelControl: where a change takes over', () => {
  it('from the first window end after the record timestamp, never before the first end not yet asked of the shards', () => {
    const next = { value: 1_800_000_120 };
    const { c, sent, lines } = control(next);
    // Ahead of the stream: the end after the timestamp (the same on every instance).
    expect(c.change('active', v2, 1_800_000_200.5, 'test')).toBe(1_800_000_240);
    // Behind it: the first end not yet asked for.
    expect(c.change('shadow', base, 1_700_000_000, 'test')).toBe(1_800_000_120);
    // A file change (no timestamp): the first end not yet asked for.
    next.value = 1_800_000_300;
    expect(c.change('shadow', null, -Infinity, 'test')).toBe(1_800_000_300);
    expect(c.schedule.list.map((e) => [e.fromEnd, e.active.id, e.shadow?.id ?? null])).toEqual([
      [-Infinity, base.id, null],
      [1_800_000_120, base.id, base.id],
      [1_800_000_240, 'v2', base.id],
      [1_800_000_300, 'v2', null],
    ]);
    // Every change went to the shards whole, as plain data.
    expect(sent).toHaveLength(3);
    expect(sent[2].map((e) => [e.fromEnd, e.active.id, e.shadow?.id ?? null])).toEqual(c.schedule.list.map((e) => [e.fromEnd, e.active.id, e.shadow?.id ?? null]));
    expect(sent[2][2].active).toEqual({ id: 'v2', description: '', intercept: -1, features: { occupancy: 2 } });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^saferoads: active model "v2" \(test\) scores window ends from 2027-01-15T08:04:00.000Z on$/);
  });

  it('the same model again changes nothing (no schedule sent, no line); before the stream started a change holds for every end', () => {
    const { c, sent, lines } = control({ value: -Infinity });
    expect(c.change('active', riskModel(JSON.parse(JSON.stringify({ id: base.id, intercept: base.intercept, features: base.coefficients })), 'copy'), 1e9, 'test')).toBeUndefined();
    expect(sent).toHaveLength(0);
    expect(c.change('active', v2, -Infinity, 'file')).toBe(-Infinity);
    expect(c.schedule.list).toHaveLength(1);
    expect(lines).toEqual(['saferoads: active model "v2" (file) scores every window end']);
  });
});

describe('decodeModelRecord', () => {
  const record = (key: string | null, value: string | null) => ({
    topic: 'saferoads.models',
    partition: 0,
    offset: 7n,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
  });

  it('accepts a model under active or shadow, and a tombstone on shadow', () => {
    const ok = decodeModelRecord(record('active', JSON.stringify({ id: 'v3', intercept: 0, features: { night: 1 }, notes: 'kept out' })));
    expect(ok.ok && ok.role === 'active' && ok.model?.id).toBe('v3');
    expect(decodeModelRecord(record('shadow', null))).toEqual({ ok: true, role: 'shadow', model: null });
  });

  it.each([
    ['other', '{}', ModelRejectReason.UNKNOWN_KEY, /neither "active" nor "shadow"/],
    [null, '{}', ModelRejectReason.UNKNOWN_KEY, /key null/],
    ['active', null, ModelRejectReason.ACTIVE_TOMBSTONE, /cannot remove the active model/],
    ['active', '{"id": "x", ', ModelRejectReason.INVALID_JSON, /^not JSON/],
    ['active', '{"id": "x", "intercept": 0, "features": {"no_such": 1}}', ModelRejectReason.INVALID_MODEL, /unknown feature "no_such"/],
    ['shadow', '{"id": "x", "intercept": 1e999, "features": {}}', ModelRejectReason.INVALID_MODEL, /intercept must be a finite number/],
    ['active', '{"id": "x", "intercept": 0, "features": {"night": "1"}}', ModelRejectReason.INVALID_MODEL, /features\.night must be a finite number/],
    ['active', '[1, 2]', ModelRejectReason.INVALID_MODEL, /offset 7 of saferoads\.models/],
  ])('refuses key %j value %j as %s', (key, value, reason, detail) => {
    const d = decodeModelRecord(record(key, value));
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.reason).toBe(reason);
    expect(d.detail).toMatch(detail);
    expect(d.detail).not.toContain('\n');
  });
});
