#!/usr/bin/env python3
"""Self-check of the data set written by sim/generate.py (stdlib only).

Usage: python3 sim/check.py [sim/data]

Fails (exit 1) when an event misses a field or has a non-finite value, when the events of a point
and lane are out of order or overlap, when gaps or speeds disagree with the loop times, when a
lane carries more than 2,600 veh/h in a minute or its loop is occupied more than 100 % of a minute,
or when the weather or label files are malformed. Prints counts, quantiles and the label positive
rates per horizon.
"""

import bisect
import csv
import gzip
import json
import math
import os
import sys

FIELDS = ("lane", "timestamp_in_1", "timestamp_out_1", "timestamp_in_2", "timestamp_out_2",
          "speed", "gap_meters", "gap_seconds", "length", "point_id")
MAX_FLOW_VPH = 2600
TIME_TOL = 0.002        # s: timestamps are written with 3 decimals


def quantiles(values, qs=(0.05, 0.5, 0.95, 1.0)):
    if not values:
        return []
    v = sorted(values)
    return [round(v[min(len(v) - 1, int(q * len(v)))], 2) for q in qs]


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    errors = []

    def fail(msg):
        if len(errors) < 20:
            print("FAIL:", msg)
        errors.append(msg)

    with open(os.path.join(data, "manifest.json")) as f:
        manifest = json.load(f)
    start, end = manifest["epoch_start"], manifest["epoch_end"]
    spacing = manifest["loop_spacing_m"]
    with open(os.path.join(data, "points.csv")) as f:
        rows = list(csv.DictReader(f))
    if list(rows[0].keys()) != ["point_id", "nearest_weather_station", "road_shape", "allowed_speed"]:
        fail("points.csv header")
    points = {r["point_id"]: r for r in rows}
    for r in rows:
        if r["road_shape"] not in ("straight", "curve", "sharp_curve"):
            fail("points.csv road_shape %r" % r["road_shape"])

    # ---- events ------------------------------------------------------------------------------
    last = {}              # (point, lane) -> previous event
    per_minute = {}        # (point, lane, minute) -> [count, occupied seconds (physical)]
    service_occ = {}       # (point, lane, minute of the event) -> loop-1 seconds of its events
    speeds, gaps_s, n, prev_t = [], [], 0, -math.inf
    length_ok = 0
    with gzip.open(os.path.join(data, "events.ndjson.gz"), "rt") as f:
        for lineno, line in enumerate(f, 1):
            ev = json.loads(line)
            n += 1
            if tuple(sorted(ev)) != tuple(sorted(FIELDS)):
                fail("line %d: fields %s" % (lineno, sorted(ev)))
                continue
            nums = [ev[k] for k in FIELDS if k != "point_id"]
            if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in nums):
                fail("line %d: non-finite value" % lineno)
                continue
            pid, lane = ev["point_id"], ev["lane"]
            if pid not in points or not isinstance(lane, int) or lane < 1:
                fail("line %d: point/lane %r/%r" % (lineno, pid, lane))
            in1, out1, in2, out2 = (ev["timestamp_in_1"], ev["timestamp_out_1"],
                                    ev["timestamp_in_2"], ev["timestamp_out_2"])
            if not (start <= in1 <= out1 <= out2 and in1 < in2 <= out2 and out2 <= end):
                fail("line %d: loop times out of order or outside the period" % lineno)
            if out2 < prev_t:
                fail("line %d: file not in event-time order" % lineno)
            prev_t = out2
            # speed is the loop-pair speed: spacing / (in2 - in1)
            v = spacing / (in2 - in1) * 3.6
            if abs(v - ev["speed"]) > 0.02 * v + 0.5:
                fail("line %d: speed %.1f vs loop times %.1f" % (lineno, ev["speed"], v))
            if not 0 < ev["length"] < 25 or not 0 <= ev["speed"] < 250:
                fail("line %d: implausible length/speed" % lineno)
            # a real loop measures length as speed x occupancy time; true for constant speed
            if abs(ev["speed"] / 3.6 * (out1 - in1) - ev["length"]) <= 0.15 * ev["length"] + 0.3:
                length_ok += 1
            if ev["gap_seconds"] < 0 or ev["gap_meters"] < 0:
                fail("line %d: negative gap" % lineno)
            if abs(ev["gap_meters"] - ev["gap_seconds"] * ev["speed"] / 3.6) > 0.02 * ev["gap_meters"] + 0.05:
                fail("line %d: gap_meters != gap_seconds x speed" % lineno)
            prev = last.get((pid, lane))
            if prev is not None:
                if in1 < prev["timestamp_out_1"] - TIME_TOL:
                    fail("line %d: %s lane %d overlaps the previous vehicle" % (lineno, pid, lane))
                if abs(ev["gap_seconds"] - (in1 - prev["timestamp_out_1"])) > TIME_TOL:
                    fail("line %d: gap_seconds != in_1 - previous out_1" % lineno)
            last[(pid, lane)] = ev
            speeds.append(ev["speed"])
            gaps_s.append(ev["gap_seconds"])
            m = int(out2 // 60)
            service_occ[(pid, lane, m)] = service_occ.get((pid, lane, m), 0.0) + (out1 - in1)
            per_minute.setdefault((pid, lane, m), [0, 0.0])[0] += 1
            # physical occupancy of loop 1: spread [in1, out1] over the minutes it covers
            t = in1
            while t < out1:
                mm = int(t // 60)
                seg_end = min(out1, (mm + 1) * 60)
                per_minute.setdefault((pid, lane, mm), [0, 0.0])[1] += seg_end - t
                t = seg_end
    if n != manifest["counts"]["events"]:
        fail("manifest says %d events, file has %d" % (manifest["counts"]["events"], n))
    # saferoads counts a vehicle's whole loop-1 time in the minute of its event; a vehicle that
    # stands on the loop for over a minute in a queue pushes that figure past 100 % (informative)
    over = sum(1 for o in service_occ.values() if o > 60.0)
    flows = [c * 60 for c, _ in per_minute.values() if c]
    occs = [o / 60 for _, o in per_minute.values()]
    if max(flows) > MAX_FLOW_VPH:
        fail("a lane-minute carries %d veh/h (> %d)" % (max(flows), MAX_FLOW_VPH))
    if max(occs) > 1.0 + 1e-6:
        fail("a lane-minute has occupancy %.3f > 100 %%" % max(occs))
    print("events: %d; speed km/h p5/p50/p95/max %s; gap s %s" % (n, quantiles(speeds), quantiles(gaps_s)))
    print("per lane-minute: flow veh/h %s; occupancy %% %s" % (quantiles(flows),
                                                              [round(100 * o, 1) for o in quantiles(occs)]))
    print("lane-minutes over 100 %% occupancy when counted in the event's minute (saferoads' "
          "definition; a vehicle standing > 1 min on the loop): %d of %d" % (over, len(service_occ)))
    print("length consistent with speed x occupancy time (constant-speed passes): %.1f %%" % (100.0 * length_ok / n))

    # ---- weather -----------------------------------------------------------------------------
    stations = {}
    with open(os.path.join(data, "weather.ndjson")) as f:
        for line in f:
            r = json.loads(line)
            for k in ("station", "timestamp", "temp", "snow", "rain", "pressure", "wind", "visibility"):
                if k not in r:
                    fail("weather reading without %s" % k)
            stations.setdefault(r["station"], []).append(r["timestamp"])
    for st, ts in stations.items():
        steps = {b - a for a, b in zip(ts, ts[1:])}
        if not steps or max(steps) > 600 or min(steps) <= 0:
            fail("weather %s: readings not every 5-10 minutes" % st)
    for r in rows:
        if r["nearest_weather_station"] not in stations:
            fail("point %s: station %s has no readings" % (r["point_id"], r["nearest_weather_station"]))
    print("weather: %s" % {st: len(ts) for st, ts in stations.items()})

    # ---- labels ------------------------------------------------------------------------------
    labels = {pid: [] for pid in points}
    kinds = {}
    with open(os.path.join(data, "labels.csv")) as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["point_id", "timestamp", "kind"]:
            fail("labels.csv header")
        for r in reader:
            if r["point_id"] not in points:
                fail("label for unknown point %s" % r["point_id"])
                continue
            ts = float(r["timestamp"])
            if not start <= ts <= end:
                fail("label outside the period")
            labels[r["point_id"]].append(ts)
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print("labels: %s" % kinds)
    for h in (5, 10, 15):
        pos = tot = 0
        per_point = {}
        for pid, ts in labels.items():
            ts.sort()
            p = t_ = 0
            for T in range(start + 60, end - 60 * h + 1, 60):
                # positive: a label in (T, T + H], as saferoads train counts it
                i = bisect.bisect_right(ts, T)
                hit = i < len(ts) and ts[i] <= T + 60 * h
                p += hit
                t_ += 1
            per_point[pid] = round(p / t_, 3) if t_ else None
            pos += p
            tot += t_
        rate = pos / tot if tot else 0.0
        print("positive rate, horizon %2d min: %.3f  (per point %s)" % (h, rate, per_point))
        ref = manifest.get("positive_rate", {}).get("%dmin" % h)
        if ref is not None and abs(ref - rate) > 1e-3:
            fail("positive rate %dmin %.4f differs from manifest %.4f" % (h, rate, ref))

    if errors:
        print("%d problem(s)" % len(errors))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
