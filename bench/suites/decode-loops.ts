/**
 * The decode loops the "decode" suite times and decode-alloc.ts measures allocations of: the same
 * code the service runs per record.
 */
import { encodeSeedEvents, LoopEventBatchDecoder } from '../../src/codec/loop-event-batch.js';
import { DECODE_OK, EventColumnsBuilder, PointIndexBytes, seedEventJson, type SeedLoopEvent } from '../../src/codec/seed-json.js';
import { WasmKernel } from '../../src/kernel/wasm-kernel.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { type Dataset, datasetEvents, encodeDataset, makeDataset } from '../lib/dataset.js';

export const DECODERS = ['json', 'json-bytes', 'fb-ts', 'fb-wasm', 'fb-ts-large', 'fb-wasm-large'] as const;
export type Decoder = (typeof DECODERS)[number];

export const DECODER_LABELS: Record<Decoder, string> = {
  json: 'seed JSON, 1 event/message (EventColumnsBuilder.appendJson: JSON.parse)',
  'json-bytes': 'seed JSON, 1 event/message (appendJsonBytes, as the shards)',
  'fb-ts': 'FlatBuffers, 1 point/message (LoopEventBatchDecoder, as the shards)',
  'fb-wasm': 'FlatBuffers, 1 point/message (WasmKernel.fillFromLoopEventBatch)',
  'fb-ts-large': 'FlatBuffers, 4096 events/message (LoopEventBatchDecoder)',
  'fb-wasm-large': 'FlatBuffers, 4096 events/message (WasmKernel.fillFromLoopEventBatch)',
};

export interface DecodeInput {
  dataset: Dataset;
  events: number;
  json: Buffer[];
  /** One point per message, chunked like `saferoads generate --format flatbuffers`. */
  fb: Buffer[];
  /** Messages of 4096 events of many points (a producer that batches across points). */
  fbLarge: Buffer[];
  indexOf: Map<string, number>;
}

export async function makeDecodeInput(events: number, points: number): Promise<DecodeInput> {
  const dataset = makeDataset({ events, points });
  const json: Buffer[] = [];
  const all = [...datasetEvents(dataset)];
  for (const e of all) json.push(Buffer.from(seedEventJson(e)));
  const fb: Buffer[] = [];
  await encodeDataset(dataset, 'flatbuffers', ({ records }) => {
    for (const r of records) fb.push(r.value as Buffer);
  });
  const fbLarge: Buffer[] = [];
  const ids = dataset.points.map((p) => p.pointId);
  const indexOf = new Map(dataset.points.map((p) => [p.pointId, p.index]));
  for (let i = 0; i < all.length; i += 4096) {
    const chunk = all.slice(i, i + 4096);
    // point_ref = dense index into the full id list.
    fbLarge.push(Buffer.from(encodeSeedEvents(ids, chunk)));
  }
  return { dataset, events: all.length, json, fb, fbLarge, indexOf };
}


/** A decode loop over every message of its input; returns the number of events decoded. */
export type DecodeLoop = () => number;

export function makeDecodeLoop(decoder: Decoder, input: DecodeInput): DecodeLoop {
  const { indexOf } = input;
  const lookup = (id: string) => indexOf.get(id);
  switch (decoder) {
    case 'json': {
      const builder = new EventColumnsBuilder(16_384);
      const messages = input.json;
      return () => {
        let n = 0;
        for (let i = 0; i < messages.length; i++) {
          if (builder.isFull) builder.reset();
          if (builder.appendJson(messages[i], 0, lookup) !== DECODE_OK) throw new Error(`decode: message ${i} refused: ${builder.detail}`);
          n++;
        }
        builder.reset();
        return n;
      };
    }
    case 'json-bytes': {
      const builder = new EventColumnsBuilder(16_384);
      const messages = input.json;
      const byBytes = new PointIndexBytes(indexOf);
      return () => {
        let n = 0;
        for (let i = 0; i < messages.length; i++) {
          if (builder.isFull) builder.reset();
          const m = messages[i];
          if (builder.appendJsonBytes(m, 0, m.length, 0, byBytes) !== DECODE_OK) throw new Error(`decode: message ${i} refused: ${builder.detail}`);
          n++;
        }
        builder.reset();
        return n;
      };
    }
    case 'fb-ts':
    case 'fb-ts-large': {
      const messages = decoder === 'fb-ts' ? input.fb : input.fbLarge;
      const reader = new LoopEventBatchDecoder();
      return () => {
        let n = 0;
        for (let i = 0; i < messages.length; i++) {
          // As the router does: decode into reused columns, then point_ref → dense index once per
          // distinct point_id.
          const columns = reader.decode(messages[i], 0);
          const pointIds = reader.pointIds;
          const dense = pointIds.map((id) => indexOf.get(id) ?? -1);
          for (let k = 0; k < columns.count; k++) {
            const ref = columns.point[k];
            columns.point[k] = ref >= 0 && ref < dense.length ? dense[ref] : -1;
          }
          n += columns.count;
        }
        return n;
      };
    }
    case 'fb-wasm':
    case 'fb-wasm-large': {
      const messages = decoder === 'fb-wasm' ? input.fb : input.fbLarge;
      const kernel = new WasmKernel({
        spec: windowSpec(),
        pointCapacity: input.dataset.points.length,
        partitions: 1,
        startWallClockS: Date.now() / 1000,
        batchCapacity: 8192,
      });
      const resolve = (id: string) => indexOf.get(id) ?? -1;
      return () => {
        let n = 0;
        for (let i = 0; i < messages.length; i++) {
          const got = kernel.fillFromLoopEventBatch(messages[i], 0, resolve);
          if (got < 0) throw new Error(`decode: message ${i} refused by the WASM decoder (${got})`);
          n += got;
        }
        return n;
      };
    }
  }
}
