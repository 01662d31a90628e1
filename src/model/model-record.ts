/**
 * One record of the models topic (key = role, value = model JSON): decoded into a change of the
 * model schedule, or refused with a stable reason code for its dead letter.
 */
import { ConfigError } from '../errors.js';
import type { IncomingRecord } from '../kafka/client.js';
import type { ModelRole } from './model-schedule.js';
import { riskModel, type RiskModel } from './risk-model.js';

/** Why a record of the models topic was refused (header saferoads-reason of its dead letter). */
export const ModelRejectReason = Object.freeze({
  /** The key is neither `active` nor `shadow`. */
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  /** The value is not JSON. */
  INVALID_JSON: 'INVALID_JSON',
  /** JSON, but not a model: wrong shape, unknown feature, a coefficient that is not a finite number. */
  INVALID_MODEL: 'INVALID_MODEL',
  /** A tombstone (null value) on `active`: the service always scores with some model. */
  ACTIVE_TOMBSTONE: 'ACTIVE_TOMBSTONE',
});

export type ModelRecord = { ok: true; role: ModelRole; model: RiskModel | null } | { ok: false; reason: string; detail: string };

/** One record of the models topic: key `active` or `shadow`, value a model JSON (null on `shadow`: no shadow). */
export function decodeModelRecord(record: Pick<IncomingRecord, 'topic' | 'partition' | 'offset' | 'key' | 'value'>): ModelRecord {
  const key = record.key?.toString('utf8');
  if (key !== 'active' && key !== 'shadow') {
    return { ok: false, reason: ModelRejectReason.UNKNOWN_KEY, detail: `key ${key === undefined ? 'null' : JSON.stringify(key.slice(0, 60))} is neither "active" nor "shadow"` };
  }
  if (record.value === null) {
    if (key === 'shadow') return { ok: true, role: key, model: null };
    return { ok: false, reason: ModelRejectReason.ACTIVE_TOMBSTONE, detail: 'a tombstone cannot remove the active model; publish another model under "active"' };
  }
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: ModelRejectReason.INVALID_JSON, detail: `not JSON: ${(error as Error).message}` };
  }
  try {
    return { ok: true, role: key, model: riskModel(json, `${key} model at offset ${record.offset} of ${record.topic}`, 'model') };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ok: false, reason: ModelRejectReason.INVALID_MODEL, detail: error.message.slice(error.field.length + 1) };
  }
}
