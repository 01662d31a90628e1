/**
 * A byte-level scanner for one seed-JSON loop event (a flat JSON object), used by
 * `EventColumnsBuilder.appendJsonBytes`: no JSON.parse, no string per event on the common path.
 *
 * It accepts only a subset of JSON it can decode exactly as JSON.parse would, and says FALLBACK for
 * everything else, in which case the caller runs the JSON.parse path (always correct). Subset:
 *
 * - one object `{…}` with JSON whitespace (space, tab, LF, CR) around tokens, nothing after it;
 * - keys: strings without backslash escapes (a key with non-ASCII bytes is an unknown key: UTF-8
 *   decoding never turns a non-ASCII byte into ASCII, so it cannot be one of the ten fields);
 * - values: numbers (strict JSON grammar), strings (escapes checked; the point_id string must be
 *   plain ASCII without escapes), true, false, null, nested objects and arrays (checked, skipped;
 *   deeper than MAX_DEPTH → FALLBACK);
 * - a repeated key: the last value wins, as in JSON.parse.
 *
 * Numbers: a decimal mantissa that stays below 2^53 with a decimal exponent of at most 22 either
 * way is m × 10^e or m / 10^-e, one correctly rounded IEEE operation on two exact doubles (Clinger's
 * fast path): the same double as JSON.parse. Any other number is converted by Number() over its
 * text (the same correctly rounded V8 conversion JSON.parse uses), which allocates a short string.
 */

/** Slots of the ten seed fields in the scanner's value arrays (the seed's order). */
export const F_LANE = 0;
export const F_T_IN_1 = 1;
export const F_T_OUT_1 = 2;
export const F_T_IN_2 = 3;
export const F_T_OUT_2 = 4;
export const F_SPEED = 5;
export const F_GAP_M = 6;
export const F_GAP_S = 7;
export const F_LENGTH = 8;
export const F_POINT_ID = 9;
export const FIELD_COUNT = 10;

/** Kind of a scanned field value. */
export const K_ABSENT = 0;
export const K_NUMBER = 1;
export const K_STRING = 2;
/** true, false or null. */
export const K_OTHER = 3;

const SP = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
/** Nesting deeper than this is left to JSON.parse. */
const MAX_DEPTH = 32;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const D0 = 0x30;
const D9 = 0x39;

/** 10^0 … 10^22: all exact doubles. */
const POW10 = new Float64Array(23);
for (let k = 0, p = 1; k <= 22; k++, p *= 10) POW10[k] = p;
/** Largest m with m × 10 + 9 < 2^53. */
const MANTISSA_LIMIT = 900719925474098;

const enc = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const NAME_LANE = enc('lane');
const NAME_SPEED = enc('speed');
const NAME_LENGTH = enc('length');
const NAME_POINT_ID = enc('point_id');
const NAME_GAP_METERS = enc('gap_meters');
const NAME_GAP_SECONDS = enc('gap_seconds');
const NAME_TS_IN = enc('timestamp_in_');
const NAME_TS_OUT = enc('timestamp_out_');
/** The field names by slot. */
const NAMES = [
  NAME_LANE,
  enc('timestamp_in_1'),
  enc('timestamp_out_1'),
  enc('timestamp_in_2'),
  enc('timestamp_out_2'),
  NAME_SPEED,
  NAME_GAP_METERS,
  NAME_GAP_SECONDS,
  NAME_LENGTH,
  NAME_POINT_ID,
];

function same(b: Uint8Array, at: number, name: Uint8Array): boolean {
  for (let k = 0; k < name.length; k++) if (b[at + k] !== name[k]) return false;
  return true;
}

/** The field slot of the ASCII key b[s, e), or -1 for any other key. */
function fieldOf(b: Uint8Array, s: number, e: number): number {
  switch (e - s) {
    case 4:
      return same(b, s, NAME_LANE) ? F_LANE : -1;
    case 5:
      return same(b, s, NAME_SPEED) ? F_SPEED : -1;
    case 6:
      return same(b, s, NAME_LENGTH) ? F_LENGTH : -1;
    case 8:
      return same(b, s, NAME_POINT_ID) ? F_POINT_ID : -1;
    case 10:
      return same(b, s, NAME_GAP_METERS) ? F_GAP_M : -1;
    case 11:
      return same(b, s, NAME_GAP_SECONDS) ? F_GAP_S : -1;
    case 14: {
      if (!same(b, s, NAME_TS_IN)) return -1;
      const last = b[s + 13];
      return last === 0x31 ? F_T_IN_1 : last === 0x32 ? F_T_IN_2 : -1;
    }
    case 15: {
      if (!same(b, s, NAME_TS_OUT)) return -1;
      const last = b[s + 14];
      return last === 0x31 ? F_T_OUT_1 : last === 0x32 ? F_T_OUT_2 : -1;
    }
    default:
      return -1;
  }
}

function isHex(c: number): boolean {
  return (c >= D0 && c <= D9) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

const STR_ESCAPE = 1;
const STR_NON_ASCII = 2;

/**
 * The scan of one message: `scan` fills `kind`/`value` per field (and the point_id string's byte
 * range), or returns false when the caller must fall back to JSON.parse. Reused, never reallocated.
 */
export class SeedJsonScanner {
  /** K_* per field slot. */
  readonly kind = new Uint8Array(FIELD_COUNT);
  /** The number of a K_NUMBER field. */
  readonly value = new Float64Array(FIELD_COUNT);
  /** point_id string (K_STRING): its bytes are [pointIdStart, pointIdEnd) of the scanned message. */
  pointIdStart = 0;
  pointIdEnd = 0;
  /** Flags of the last string scanned (STR_*). */
  private strFlags = 0;

  /**
   * Scans b[from, to). true: a JSON object of the supported subset, fields in kind/value; false:
   * fall back to JSON.parse (the text may be valid or not).
   */
  scan(b: Uint8Array, from: number, to: number): boolean {
    const kind = this.kind;
    kind.fill(K_ABSENT);
    let expected = F_LANE;
    let i = skipWs(b, from, to);
    if (i >= to || b[i] !== LBRACE) return false;
    i = skipWs(b, i + 1, to);
    if (i >= to) return false;
    if (b[i] === RBRACE) {
      i++;
    } else {
      for (;;) {
        // Key.
        if (i >= to || b[i] !== QUOTE) return false;
        const ks = i + 1;
        let field: number;
        let ke: number;
        // Most messages have the seed's fields in the seed's order: try the next one first.
        const name = NAMES[expected];
        const nameEnd = ks + name.length;
        if (nameEnd < to && b[nameEnd] === QUOTE && same(b, ks, name)) {
          field = expected;
          ke = nameEnd;
        } else {
          ke = this.scanString(b, ks, to);
          if (ke < 0) return false;
          const flags = this.strFlags;
          if ((flags & STR_ESCAPE) !== 0) return false;
          field = flags === 0 ? fieldOf(b, ks, ke) : -1;
        }
        if (field >= 0) expected = field === F_POINT_ID ? F_LANE : field + 1;
        i = skipWs(b, ke + 1, to);
        if (i >= to || b[i] !== COLON) return false;
        i = skipWs(b, i + 1, to);
        if (i >= to) return false;
        // Value.
        const c = b[i];
        if (c === QUOTE) {
          const vs = i + 1;
          const ve = this.scanString(b, vs, to);
          if (ve < 0) return false;
          if (field >= 0) {
            if (field === F_POINT_ID) {
              if (this.strFlags !== 0) return false;
              this.pointIdStart = vs;
              this.pointIdEnd = ve;
            }
            kind[field] = K_STRING;
          }
          i = ve + 1;
        } else if (c === MINUS || (c >= D0 && c <= D9)) {
          const ne = this.scanNumber(b, i, to, field);
          if (ne < 0) return false;
          if (field >= 0) kind[field] = K_NUMBER;
          i = ne;
        } else if (c === 0x74 /* t */) {
          if (i + 4 > to || b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return false;
          if (field >= 0) kind[field] = K_OTHER;
          i += 4;
        } else if (c === 0x66 /* f */) {
          if (i + 5 > to || b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65) return false;
          if (field >= 0) kind[field] = K_OTHER;
          i += 5;
        } else if (c === 0x6e /* n */) {
          if (i + 4 > to || b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return false;
          if (field >= 0) kind[field] = K_OTHER;
          i += 4;
        } else if (c === LBRACE || c === LBRACKET) {
          // A nested object or array: checked and skipped; JSON.parse's object is no number or string.
          const ne = this.skipNested(b, i, to, 0);
          if (ne < 0) return false;
          if (field >= 0) kind[field] = K_OTHER;
          i = ne;
        } else {
          return false;
        }
        i = skipWs(b, i, to);
        if (i >= to) return false;
        const d = b[i];
        if (d === COMMA) {
          i = skipWs(b, i + 1, to);
          continue;
        }
        if (d !== RBRACE) return false;
        i++;
        break;
      }
    }
    return skipWs(b, i, to) === to;
  }

  /**
   * The end of the JSON object or array starting at b[i] (its values checked as JSON, not kept), or
   * -1 when it is not JSON or nests too deep.
   */
  private skipNested(b: Uint8Array, i: number, to: number, depth: number): number {
    if (depth >= MAX_DEPTH) return -1;
    const isObject = b[i] === LBRACE;
    const close = isObject ? RBRACE : RBRACKET;
    i = skipWs(b, i + 1, to);
    if (i >= to) return -1;
    if (b[i] === close) return i + 1;
    for (;;) {
      if (isObject) {
        if (i >= to || b[i] !== QUOTE) return -1;
        const ke = this.scanString(b, i + 1, to);
        if (ke < 0) return -1;
        i = skipWs(b, ke + 1, to);
        if (i >= to || b[i] !== COLON) return -1;
        i = skipWs(b, i + 1, to);
      }
      if (i >= to) return -1;
      const c = b[i];
      if (c === QUOTE) {
        const ve = this.scanString(b, i + 1, to);
        if (ve < 0) return -1;
        i = ve + 1;
      } else if (c === MINUS || (c >= D0 && c <= D9)) {
        i = this.scanNumber(b, i, to, -1);
        if (i < 0) return -1;
      } else if (c === 0x74 /* t */) {
        if (i + 4 > to || b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return -1;
        i += 4;
      } else if (c === 0x66 /* f */) {
        if (i + 5 > to || b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65) return -1;
        i += 5;
      } else if (c === 0x6e /* n */) {
        if (i + 4 > to || b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return -1;
        i += 4;
      } else if (c === LBRACE || c === LBRACKET) {
        i = this.skipNested(b, i, to, depth + 1);
        if (i < 0) return -1;
      } else {
        return -1;
      }
      i = skipWs(b, i, to);
      if (i >= to) return -1;
      const d = b[i];
      if (d === COMMA) {
        i = skipWs(b, i + 1, to);
        continue;
      }
      if (d !== close) return -1;
      return i + 1;
    }
  }

  /**
   * From just after an opening quote: the index of the closing quote, or -1 (unterminated, a
   * control character, a bad escape). Sets strFlags.
   */
  private scanString(b: Uint8Array, i: number, to: number): number {
    let flags = 0;
    while (i < to) {
      const c = b[i];
      if (c === QUOTE) {
        this.strFlags = flags;
        return i;
      }
      if (c < SP) return -1;
      if (c === BACKSLASH) {
        flags |= STR_ESCAPE;
        if (i + 1 >= to) return -1;
        const e = b[i + 1];
        if (e === 0x75 /* u */) {
          if (i + 6 > to || !isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5])) return -1;
          i += 6;
          continue;
        }
        if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
        i += 2;
        continue;
      }
      if (c >= 0x80) flags |= STR_NON_ASCII;
      i++;
    }
    return -1;
  }

  /**
   * A JSON number starting at b[i]: its end, or -1 if the grammar is not JSON's. Its value goes to
   * value[field] when field >= 0.
   */
  private scanNumber(b: Uint8Array, i: number, to: number, field: number): number {
    const start = i;
    let neg = false;
    if (b[i] === MINUS) {
      neg = true;
      i++;
      if (i >= to) return -1;
    }
    let m = 0;
    let exact = true;
    let exp10 = 0;
    let c = b[i];
    if (c === D0) {
      i++;
      // A leading zero is the whole integer part: "01" is not JSON (the caller then sees a digit
      // where a ',' or '}' must be, and falls back).
    } else if (c > D0 && c <= D9) {
      do {
        if (m <= MANTISSA_LIMIT) m = m * 10 + (c - D0);
        else exact = false;
        i++;
      } while (i < to && (c = b[i]) >= D0 && c <= D9);
    } else {
      return -1;
    }
    if (i < to && b[i] === DOT) {
      i++;
      if (i >= to || (c = b[i]) < D0 || c > D9) return -1;
      do {
        if (m <= MANTISSA_LIMIT) {
          m = m * 10 + (c - D0);
          exp10--;
        } else {
          exact = false;
        }
        i++;
      } while (i < to && (c = b[i]) >= D0 && c <= D9);
    }
    if (i < to && ((c = b[i]) === 0x65 || c === 0x45)) {
      i++;
      if (i >= to) return -1;
      let eneg = false;
      c = b[i];
      if (c === MINUS || c === PLUS) {
        eneg = c === MINUS;
        i++;
        if (i >= to) return -1;
        c = b[i];
      }
      if (c < D0 || c > D9) return -1;
      let e = 0;
      do {
        if (e < 100_000_000) e = e * 10 + (c - D0);
        i++;
      } while (i < to && (c = b[i]) >= D0 && c <= D9);
      exp10 += eneg ? -e : e;
    }
    if (field < 0) return i;
    let v: number;
    if (exact && m === 0) {
      v = 0;
    } else if (exact && exp10 >= 0 && exp10 <= 22) {
      v = m * POW10[exp10];
    } else if (exact && exp10 < 0 && exp10 >= -22) {
      v = m / POW10[-exp10];
    } else {
      v = Number(latin1(b, neg ? start + 1 : start, i));
    }
    this.value[field] = neg ? -v : v;
    return i;
  }
}

function skipWs(b: Uint8Array, i: number, to: number): number {
  while (i < to) {
    const c = b[i];
    if (c > SP || (c !== SP && c !== LF && c !== CR && c !== TAB)) return i;
    i++;
  }
  return i;
}

/** Reused argument lists of String.fromCharCode, by length (no array per call). */
const CHAR_CODES: number[][] = Array.from({ length: 33 }, (_, n) => new Array<number>(n).fill(0));

/** b[s, e) as a string of one character per byte (ASCII text); allocates the string only. */
export function latin1(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n < CHAR_CODES.length) {
    const codes = CHAR_CODES[n];
    for (let k = 0; k < n; k++) codes[k] = b[s + k];
    return String.fromCharCode.apply(null, codes);
  }
  let out = '';
  for (let k = s; k < e; k++) out += String.fromCharCode(b[k]);
  return out;
}

const EMPTY = -1;

function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 ^ (e - s);
  for (let k = s; k < e; k++) h = Math.imul(h ^ b[k], 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

function hashSafeInteger(v: number): number {
  const lo = v >>> 0;
  const hi = (v / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * point_id → dense point index, looked up from the bytes of a message without making a string: an
 * open-addressing table over the ids' UTF-8 bytes, and one over their numeric values for the ids an
 * integer point_id names (canonicalPointId: the integer 17 is the point "17"; only ids that are the
 * decimal form of a non-negative safe integer, no leading zeros, can be named so). Built once; the
 * same answers as `new Map(entries).get` (a repeated id: the last index wins), which `indexOf` is.
 */
export class PointIndexBytes {
  /** The same lookup over strings, for the JSON.parse path. */
  readonly indexOf: (pointId: string) => number | undefined;
  readonly size: number;
  private readonly keyBytes: Uint8Array;
  private readonly keyStart: Int32Array;
  private readonly keyEnd: Int32Array;
  private readonly keyIndex: Int32Array;
  private readonly strSlots: Int32Array;
  private readonly strMask: number;
  private readonly numKeys: Float64Array;
  private readonly numIndex: Int32Array;
  private readonly numSlots: Int32Array;
  private readonly numMask: number;

  /** From the road table's ids in dense-index order (id k has index k). */
  static fromIds(ids: Iterable<string>): PointIndexBytes {
    const entries: [string, number][] = [];
    let k = 0;
    for (const id of ids) entries.push([id, k++]);
    return new PointIndexBytes(entries);
  }

  constructor(entries: Iterable<readonly [string, number]>) {
    const map = new Map<string, number>();
    for (const [id, index] of entries) {
      if (!Number.isInteger(index) || index < 0 || index > 2147483647) throw new RangeError(`point index of "${id}" must be a non-negative int32 (got ${index})`);
      map.set(id, index);
    }
    this.indexOf = (pointId) => map.get(pointId);
    this.size = map.size;
    const n = map.size;
    const encoded = [...map.keys()].map((id) => Buffer.from(id, 'utf8'));
    this.keyBytes = new Uint8Array(encoded.reduce((sum, e) => sum + e.length, 0));
    this.keyStart = new Int32Array(n);
    this.keyEnd = new Int32Array(n);
    this.keyIndex = new Int32Array(n);
    let size = 8;
    while (size < n * 2) size *= 2;
    this.strSlots = new Int32Array(size).fill(EMPTY);
    this.strMask = size - 1;
    const numeric: [number, number][] = [];
    let at = 0;
    let k = 0;
    for (const [id, index] of map) {
      const bytes = encoded[k];
      this.keyBytes.set(bytes, at);
      this.keyStart[k] = at;
      this.keyEnd[k] = at + bytes.length;
      this.keyIndex[k] = index;
      at += bytes.length;
      let slot = hashBytes(this.keyBytes, this.keyStart[k], this.keyEnd[k]) & this.strMask;
      while (this.strSlots[slot] !== EMPTY) slot = (slot + 1) & this.strMask;
      this.strSlots[slot] = k;
      const asNumber = Number(id);
      if (/^(0|[1-9][0-9]*)$/.test(id) && Number.isSafeInteger(asNumber) && String(asNumber) === id) numeric.push([asNumber, index]);
      k++;
    }
    let numSize = 8;
    while (numSize < numeric.length * 2) numSize *= 2;
    this.numKeys = new Float64Array(numSize);
    this.numIndex = new Int32Array(numSize);
    this.numSlots = new Int32Array(numSize).fill(EMPTY);
    this.numMask = numSize - 1;
    for (const [value, index] of numeric) {
      let slot = hashSafeInteger(value) & this.numMask;
      while (this.numSlots[slot] !== EMPTY) slot = (slot + 1) & this.numMask;
      this.numSlots[slot] = 1;
      this.numKeys[slot] = value;
      this.numIndex[slot] = index;
    }
  }

  /** The index of the id whose UTF-8 bytes are b[s, e), or -1 when there is none. */
  lookupBytes(b: Uint8Array, s: number, e: number): number {
    const len = e - s;
    const keyBytes = this.keyBytes;
    const slots = this.strSlots;
    const mask = this.strMask;
    let slot = hashBytes(b, s, e) & mask;
    for (;;) {
      const k = slots[slot];
      if (k === EMPTY) return -1;
      const ks = this.keyStart[k];
      if (this.keyEnd[k] - ks === len) {
        let j = 0;
        while (j < len && keyBytes[ks + j] === b[s + j]) j++;
        if (j === len) return this.keyIndex[k];
      }
      slot = (slot + 1) & mask;
    }
  }

  /**
   * The index of the point a non-negative safe integer names (the id that is its decimal string),
   * or -1 when there is none.
   */
  lookupSafeInteger(value: number): number {
    const mask = this.numMask;
    let slot = hashSafeInteger(value) & mask;
    for (;;) {
      if (this.numSlots[slot] === EMPTY) return -1;
      if (this.numKeys[slot] === value) return this.numIndex[slot];
      slot = (slot + 1) & mask;
    }
  }
}
