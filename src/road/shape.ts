/**
 * `road_shape` of the road-points table: how curved the road is at a measuring point, as a
 * curvature index the risk model uses directly (feature `curvature`).
 *
 * Accepted (case, spaces and hyphens do not matter: "Sharp curve" is sharp_curve):
 * - a word: straight 0, curve 1, sharp_curve 2, junction 0, bridge 0 (junctions and bridges carry
 *   other risks — merging, icing — that the model does not take from the shape; for curvature they
 *   are straight);
 * - a number from 0 to MAX_CURVATURE_INDEX on the same scale (the seed's road_points.csv writes
 *   0.5, 0.4, 1.1): 0 straight, 1 a curve, 2 a sharp curve, in between and beyond as measured;
 * - an empty cell: not known, counted as straight (0) — guessing a curvature would invent risk.
 * Anything else stops the program at start (road/points.ts): a shape silently read as straight
 * would hide a curve from the model.
 */
export const ROAD_SHAPE_CURVATURE: Readonly<Record<string, number>> = Object.freeze({
  straight: 0,
  curve: 1,
  sharp_curve: 2,
  junction: 0,
  bridge: 0,
});

/** Largest numeric curvature index accepted (a hairpin is about 3; 10 catches unit mistakes). */
export const MAX_CURVATURE_INDEX = 10;

/** A plain decimal number: `1`, `0.5`, `.4`; no sign, exponent or separators. */
const INDEX = /^(\d+\.?\d*|\.\d+)$/;

/** The curvature index of a road_shape cell, or undefined when it is none of the accepted forms. */
export function parseRoadShape(cell: string): number | undefined {
  const trimmed = cell.trim();
  if (trimmed === '') return 0;
  if (INDEX.test(trimmed)) {
    const v = Number(trimmed);
    return v <= MAX_CURVATURE_INDEX ? v : undefined;
  }
  const key = trimmed.toLowerCase().replace(/[\s-]+/g, '_');
  return Object.hasOwn(ROAD_SHAPE_CURVATURE, key) ? ROAD_SHAPE_CURVATURE[key] : undefined;
}

/** What the error message lists as allowed. */
export const ROAD_SHAPE_HELP = `${Object.keys(ROAD_SHAPE_CURVATURE).join(', ')}, a curvature index from 0 to ${MAX_CURVATURE_INDEX} (0 straight, 1 curve, 2 sharp curve), or an empty cell (unknown: straight)`;
