#!/usr/bin/env python3
"""Generate a labelled loop-event history for saferoads with the SUMO traffic simulator.

One run simulates a 5.3 km motorway section (sim/scenario/) on a Monday from 04:00 UTC, lets the
weather change the drivers' behaviour through TraCI, stops a few vehicles on the carriageway
(incidents), and writes into sim/data/:

  events.ndjson.gz  one seed-format loop event per vehicle and measuring point (event time =
                    timestamp_out_2, file in event-time order)
  weather.ndjson    one reading per station every 5 minutes
  points.csv        the measuring points (saferoads --points format)
  labels.csv        point_id,timestamp,kind: SSM conflicts (surrogate safety measures) and incidents
  manifest.json     period, counts, seed, SUMO version, label positive rates

Usage: python3 sim/generate.py [--seed 42] [--hours 12]   (needs: apt-get install sumo sumo-tools)

Only the standard library and SUMO's own traci/sumolib modules are used. SUMO's XML outputs go to
a temporary directory and are read with iterparse (element by element), so memory stays small.
See sim/README.md for the scenario, the weather effects and the label rule.
"""

import argparse
import bisect
import csv
import datetime
import gzip
import heapq
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

SUMO_HOME = os.environ.setdefault("SUMO_HOME", "/usr/share/sumo")
sys.path.append(os.path.join(SUMO_HOME, "tools"))
import sumolib  # noqa: E402  (needs SUMO_HOME on sys.path first)
import traci  # noqa: E402

SIM_DIR = os.path.dirname(os.path.abspath(__file__))
SCENARIO_DIR = os.path.join(SIM_DIR, "scenario")
NET_FILE = os.path.join(SCENARIO_DIR, "motorway.net.xml")

# Simulation second 0 is Monday 2026-03-02 04:00:00 UTC, so the data has a night, a morning peak
# and a midday/afternoon structure.
EPOCH_START = int(datetime.datetime(2026, 3, 2, 4, 0, tzinfo=datetime.timezone.utc).timestamp())
START_HOUR = 4

STEP_LENGTH = 0.5      # s; the loop times are interpolated within a step by SUMO (passing time)
LOOP_SPACING = 5.0     # m between the two loops of a pair (leading edge to leading edge)

# The main carriageway in driving order; chainage (distance from the start of AB) is the sum of
# the netconvert edge lengths (junction areas of a few metres are ignored).
MAIN_EDGES = ["AB", "BC", "CD", "DE", "EF", "FG"]

# Measuring points: (id, edge, position of loop 1 on the edge [m], road_shape, allowed km/h, station)
POINTS = [
    ("S01", "AB", 500.0, "straight", 120, "WS-WEST"),
    ("S02", "AB", 1150.0, "straight", 120, "WS-WEST"),   # upstream of the on-ramp
    ("S03", "BC", 150.0, "straight", 120, "WS-WEST"),    # merge area, 3 lanes incl. acceleration lane
    ("S04", "CD", 250.0, "straight", 120, "WS-WEST"),    # after the lane drop
    ("S05", "CD", 750.0, "straight", 120, "WS-WEST"),    # approach to the curve
    ("S06", "DE", 300.0, "curve", 80, "WS-EAST"),        # in the 80 km/h curve
    ("S07", "EF", 150.0, "straight", 120, "WS-EAST"),    # curve exit
    ("S08", "EF", 750.0, "straight", 120, "WS-EAST"),    # before the off-ramp
    ("S09", "FG", 300.0, "straight", 120, "WS-EAST"),
    ("S10", "FG", 850.0, "straight", 120, "WS-EAST"),
]

# Which weather station's reading governs the drivers on an edge: the curve lies in a river
# valley (WS-EAST) where the fog sits.
EDGE_STATION = {"AB": "WS-WEST", "ramp_in": "WS-WEST", "BC": "WS-WEST", "CD": "WS-WEST",
                "DE": "WS-EAST", "EF": "WS-EAST", "FG": "WS-EAST", "ramp_out": "WS-EAST"}
STATIONS = ["WS-WEST", "WS-EAST"]
WEATHER_INTERVAL = 300  # s

# Demand per clock hour (UTC, the day is a Monday): (main carriageway veh/h, on-ramp veh/h).
# The merge (two lanes, about 3,600 veh/h in SUMO with these drivers) breaks down in the morning
# peak (07-09, in the rain) and again at the afternoon peak; the queue then grows upstream.
DEMAND = {4: (450, 60), 5: (1000, 180), 6: (2100, 450), 7: (2800, 720), 8: (2900, 760),
          9: (2400, 520), 10: (2100, 420), 11: (2100, 430), 12: (2300, 480), 13: (2300, 480),
          14: (2400, 500), 15: (2700, 640), 16: (2900, 720), 17: (2900, 720), 18: (2500, 560),
          19: (1800, 380), 20: (1300, 250), 21: (1000, 180)}
EXIT_SHARE_MAIN = 0.15   # share of main-line traffic that leaves at the off-ramp
EXIT_SHARE_RAMP = 0.25

# Incidents: a vehicle stops on a lane for several minutes (breakdown / minor crash).
# (sim second the vehicle departs at A, stop lane, stop position on that lane [m], duration [s])
INCIDENTS = [
    (2 * 3600 + 45 * 60, "DE_1", 420.0, 480),    # 06:45+, left lane in the curve
    (4 * 3600 + 35 * 60, "EF_0", 620.0, 600),    # 08:35+, right lane before the off-ramp, peak
    (7 * 3600 + 20 * 60, "CD_0", 520.0, 540),    # 11:20+, right lane after the merge
    (10 * 3600 + 40 * 60, "FG_1", 500.0, 600),   # 14:40+, left lane near the end
    (11 * 3600 + 30 * 60, "AB_0", 900.0, 480),   # 15:30+, right lane upstream of the ramp
]

TTC_THRESHOLD = 2.0     # s   conflicts with a smaller minimum time-to-collision are labels
DRAC_THRESHOLD = 3.0    # m/s2 conflicts needing a larger deceleration to avoid a crash are labels
SSM_PROBABILITY = 0.5  # share of vehicles carrying the SSM device (it also watches its foes)

# A conflict is assigned to the last measuring point upstream of it; a point up to this far
# downstream of the conflict still counts as "at" it (the loop pair sits in the conflict zone).
LABEL_DOWNSTREAM_TOLERANCE = 100.0  # m
LABEL_MAX_DISTANCE = 1000.0         # m; farther from every upstream point: no label
HORIZONS_MIN = (5, 10, 15)


# --------------------------------------------------------------------------------------------
# Network geometry
# --------------------------------------------------------------------------------------------

def chainage_table(net):
    """Chainage [m] of the start of every edge, ramps included, and of every junction."""
    starts = {}
    ch = 0.0
    for eid in MAIN_EDGES:
        starts[eid] = ch
        ch += net.getEdge(eid).getLength()
    ramp_in = net.getEdge("ramp_in")
    # the on-ramp ends where BC begins; a conflict on it belongs to the point upstream of the merge
    starts["ramp_in"] = starts["BC"] - ramp_in.getLength()
    starts["ramp_out"] = starts["FG"]
    nodes = {"B": starts["BC"], "C": starts["CD"], "D": starts["DE"], "E": starts["EF"],
             "F": starts["FG"]}
    return starts, nodes, ch


def lane_chainage(lane_id, pos, starts, nodes):
    """Chainage of a lane position; internal junction lanes (':B_0_0') map to their junction."""
    if lane_id.startswith(":"):
        return nodes.get(lane_id[1:].split("_")[0])
    edge = lane_id.rsplit("_", 1)[0]
    if edge not in starts:
        return None
    return starts[edge] + pos


def xy_to_lane(net, x, y):
    """(lane id, position) of the lane nearest to a network coordinate.

    SUMO 1.15 accepts --device.ssm.write-lane-positions but still writes only x,y coordinates for
    the conflict points, so the lane is recovered from the geometry (the carriageways are far
    apart compared with a lane width, so the nearest lane is the right one up to a neighbour lane,
    which has the same chainage)."""
    best = None
    for edge in net.getEdges():
        for lane in edge.getLanes():
            shape = lane.getShape()
            d = sumolib.geomhelper.distancePointToPolygon((x, y), shape)
            if best is None or d < best[0]:
                best = (d, lane, shape)
    pos = sumolib.geomhelper.polygonOffsetWithMinimumDistanceToPoint((x, y), best[2])
    return best[1].getID(), pos


def point_for_chainage(ch, point_ch):
    """The label rule: last point upstream (tolerance downstream), or None if too far."""
    best = None
    for pid, pch in point_ch:   # point_ch is sorted by chainage
        if pch <= ch + LABEL_DOWNSTREAM_TOLERANCE:
            best = (pid, pch)
    if best is None or ch - best[1] > LABEL_MAX_DISTANCE:
        return None
    return best[0]


# --------------------------------------------------------------------------------------------
# Weather
# --------------------------------------------------------------------------------------------

# Episodes (clock time UTC, both stations unless named): what the day looks like.
#   04:00-05:20 light snow showers at about 0 C (wet snow, slippery)
#   05:20-06:50 fog in the valley (WS-EAST, visibility 90-180 m), mist at WS-WEST (400-700 m)
#   06:50-08:10 dry
#   08:10-09:50 rain, heavy 08:45-09:20 (8-14 mm/h) at WS-EAST, 09:00-09:25 at WS-WEST
#   09:50-12:00 dry, roads drying
#   12:00-13:15 showers at WS-WEST (moderate, 2-5 mm/h), drizzle at WS-EAST
#   13:15-14:30 dry
#   14:30-15:45 rain both (thunderstorm 14:50-15:20, 10-20 mm/h), then dry
def weather_reading(station, t, rng):
    """One reading of `station` at sim second t. rng adds small, seeded measurement noise."""
    h = START_HOUR + t / 3600.0
    east = station == "WS-EAST"
    # temperature: about -0.5 C before dawn, 9 C in the afternoon, cooler in rain
    temp = -0.6 + 9.5 * max(0.0, math.sin(math.pi * (h - 5.0) / 14.0)) + (-0.4 if east else 0.0)
    rain = snow = 0.0
    visibility = 15000.0
    pressure = 1014.0 - 0.35 * (h - 4.0)    # a front passes during the day
    wind = 3.0 + (2.0 if east else 0.0)
    if h < 5.33:
        snow = 0.8 + 0.6 * math.sin(h * 7.0) ** 2
        temp = min(temp, 0.3)
        visibility = 1500.0
        wind += 2.0
    elif h < 6.83:
        visibility = 90.0 + 90.0 * abs(math.sin(h * 5.0)) if east else 400.0 + 300.0 * abs(math.sin(h * 3.0))
        wind = 0.8
    elif 8.17 <= h < 9.83:
        heavy = (8.75 <= h < 9.33) if east else (9.0 <= h < 9.42)
        rain = (8.0 + 6.0 * math.sin(h * 11.0) ** 2) if heavy else 1.2 + 0.8 * math.sin(h * 4.0) ** 2
        visibility = 700.0 if heavy else 4000.0
        temp -= 1.5
        wind += 4.0 if heavy else 1.5
    elif 12.0 <= h < 13.25:
        rain = (2.0 + 3.0 * math.sin(h * 6.0) ** 2) if not east else 0.4
        visibility = 3000.0 if not east else 8000.0
        temp -= 1.0
    elif 14.5 <= h < 15.75:
        storm = 14.83 <= h < 15.33
        rain = (10.0 + 10.0 * math.sin(h * 9.0) ** 2) if storm else 3.0
        visibility = 500.0 if storm else 2500.0
        temp -= 3.0
        wind += 8.0 if storm else 3.0
    noise = rng.gauss
    return {
        "station": station,
        "timestamp": EPOCH_START + int(t),
        "temp": round(temp + noise(0, 0.15), 1),
        "snow": round(max(0.0, snow + (noise(0, 0.1) if snow else 0.0)), 1),
        "rain": round(max(0.0, rain + (noise(0, 0.2) if rain else 0.0)), 1),
        "pressure": round(pressure + noise(0, 0.2), 1),
        "wind": round(max(0.0, wind + noise(0, 0.6)), 1),
        "visibility": int(max(50.0, visibility * (1.0 + noise(0, 0.05)))),
    }


def weather_effect(r):
    """(speedFactor multiplier, tau multiplier, decel multiplier) for a reading.

    Drivers slow down and keep longer headways on wet/snowy roads and in fog, and brake more
    gently (they anticipate less grip); the factors follow the order of magnitude reported in
    the literature (rain: -5..-15 % speed, +10..25 % headway; snow -20..-30 % speed, fog near
    the stopping sight distance). Levels are discrete so that vehicles are re-parameterised only
    when the weather class changes, not on every noisy reading.
    """
    speed, tau, decel = 1.0, 1.0, 1.0
    if r["snow"] > 0.1:
        speed, tau, decel = speed * 0.75, tau * 1.4, decel * 0.65
        if r["temp"] <= 0.5:             # freezing wet snow: even less grip
            decel *= 0.85
    if r["rain"] >= 7.5:                 # heavy rain: spray, aquaplaning risk
        speed, tau, decel = speed * 0.85, tau * 1.25, decel * 0.8
    elif r["rain"] >= 2.5:
        speed, tau, decel = speed * 0.92, tau * 1.15, decel * 0.85
    elif r["rain"] > 0.1:
        speed, tau, decel = speed * 0.96, tau * 1.08, decel * 0.9
    if r["visibility"] < 200:            # dense fog: 120 km/h needs ~250 m sight distance
        speed, tau = speed * 0.72, tau * 1.3
    elif r["visibility"] < 1000:
        speed, tau = speed * 0.9, tau * 1.1
    return (round(speed, 3), round(tau, 3), round(decel, 3))


def build_weather(duration, seed):
    rng = random.Random(seed)
    readings = []
    for t in range(0, int(duration) + 1, WEATHER_INTERVAL):
        for st in STATIONS:
            readings.append(weather_reading(st, t, rng))
    return readings


# --------------------------------------------------------------------------------------------
# SUMO input files
# --------------------------------------------------------------------------------------------

VTYPES = """
    <!-- Krauss car following; sigma = driver imperfection, tau = desired time headway [s],
         speedFactor = desired speed / limit (normal, mean, deviation, min, max). -->
    <vTypeDistribution id="mix">
        <vType id="car_calm"   vClass="passenger" length="4.4" minGap="2.5" accel="2.3" decel="4.5" emergencyDecel="9.0" sigma="0.35" tau="1.5" speedFactor="normc(0.97,0.07,0.80,1.15)" probability="0.30"/>
        <vType id="car"        vClass="passenger" length="4.6" minGap="2.5" accel="2.6" decel="4.5" emergencyDecel="9.0" sigma="0.5"  tau="1.2" speedFactor="normc(1.05,0.08,0.85,1.30)" probability="0.34"/>
        <vType id="car_sporty" vClass="passenger" length="4.8" minGap="2.0" accel="3.2" decel="5.0" emergencyDecel="9.0" sigma="0.6"  tau="0.9" speedFactor="normc(1.15,0.09,0.95,1.40)" lcAssertive="1.5" lcSpeedGain="2.0" probability="0.14"/>
        <vType id="van"        vClass="delivery"  length="5.9" minGap="2.5" accel="2.0" decel="4.2" emergencyDecel="8.0" sigma="0.5"  tau="1.2" speedFactor="normc(1.0,0.08,0.80,1.20)" maxSpeed="44.4" probability="0.08"/>
        <vType id="truck"      vClass="truck"     length="12.0" minGap="3.0" accel="1.1" decel="3.8" emergencyDecel="7.0" sigma="0.4" tau="1.6" speedFactor="normc(1.0,0.04,0.9,1.1)" maxSpeed="24.7" lcSpeedGain="0.3" probability="0.05"/>
        <vType id="semitrailer" vClass="trailer" length="16.5" minGap="3.0" accel="0.9" decel="3.5" emergencyDecel="7.0" sigma="0.4" tau="1.8" speedFactor="normc(1.0,0.04,0.9,1.1)" maxSpeed="24.7" lcSpeedGain="0.2" probability="0.09"/>
    </vTypeDistribution>
    <!-- the incident vehicles: ordinary cars that stop on the lane -->
    <vType id="incident_car" vClass="passenger" length="4.6" accel="2.6" decel="4.5" sigma="0.3" tau="1.2" color="1,0,0"/>
"""

ROUTES = {
    "main_through": "AB BC CD DE EF FG",
    "main_exit": "AB BC CD DE EF ramp_out",
    "ramp_through": "ramp_in BC CD DE EF FG",
    "ramp_exit": "ramp_in BC CD DE EF ramp_out",
}


def demand_at(hour_float):
    """Linear interpolation of the hourly demand table (values at the middle of each hour)."""
    x = hour_float - 0.5
    lo = math.floor(x)
    w = x - lo
    a = DEMAND.get(lo, DEMAND[min(DEMAND)] if lo < min(DEMAND) else DEMAND[max(DEMAND)])
    b = DEMAND.get(lo + 1, DEMAND[max(DEMAND)] if lo + 1 > max(DEMAND) else DEMAND[min(DEMAND)])
    return tuple((1 - w) * a[i] + w * b[i] for i in range(2))


def write_routes(path, duration):
    slot = 900  # 15-minute flows approximate the smooth profile
    with open(path, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<routes>\n')
        f.write(VTYPES)
        for rid, edges in ROUTES.items():
            f.write('    <route id="%s" edges="%s"/>\n' % (rid, edges))
        # SUMO reads route files incrementally: everything is written sorted by departure time
        items = []
        for begin in range(0, int(duration), slot):
            main, ramp = demand_at(START_HOUR + (begin + slot / 2) / 3600.0)
            for rid, rate in (("main_through", main * (1 - EXIT_SHARE_MAIN)),
                              ("main_exit", main * EXIT_SHARE_MAIN),
                              ("ramp_through", ramp * (1 - EXIT_SHARE_RAMP)),
                              ("ramp_exit", ramp * EXIT_SHARE_RAMP)):
                # probability = per-second Bernoulli arrivals: random (binomial ~ Poisson)
                # headways instead of SUMO's equidistant vehsPerHour
                items.append((begin, '    <flow id="%s_%d" route="%s" type="mix" begin="%d" end="%d" '
                              'probability="%.4f" departLane="best" departSpeed="max"/>\n'
                              % (rid, begin, rid, begin, begin + slot, rate / 3600.0)))
        for i, (dep, lane, pos, dur) in enumerate(INCIDENTS, 1):
            if dep >= duration:
                continue
            items.append((dep, '    <vehicle id="incident_%d" type="incident_car" depart="%d" departLane="best" departSpeed="max">\n'
                               '        <route edges="%s"/>\n'
                               '        <stop lane="%s" endPos="%.1f" duration="%d"/>\n'
                               '    </vehicle>\n' % (i, dep, ROUTES["main_through"], lane, pos, dur)))
        for _, text in sorted(items, key=lambda x: x[0]):
            f.write(text)
        f.write("</routes>\n")


def write_detectors(path, net, outdir):
    """Two instantInductionLoops per lane and point, LOOP_SPACING apart; one output file per point."""
    with open(path, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<additional>\n')
        for pid, edge, pos, _, _, _ in POINTS:
            e = net.getEdge(edge)
            assert pos + LOOP_SPACING < e.getLength(), (pid, "loop pair must fit on its edge")
            out = os.path.join(outdir, "loops_%s.xml" % pid)
            for lane in e.getLanes():
                for k, p in ((1, pos), (2, pos + LOOP_SPACING)):
                    f.write('    <instantInductionLoop id="%s_%d_%d" lane="%s" pos="%.2f" file="%s"/>\n'
                            % (pid, lane.getIndex(), k, lane.getID(), p, out))
        f.write("</additional>\n")


# --------------------------------------------------------------------------------------------
# Simulation with weather control
# --------------------------------------------------------------------------------------------

def run_sumo(tmp, duration, seed, weather):
    """Run SUMO under TraCI; every 10 s re-parameterise vehicles whose weather class changed."""
    by_station = {st: [r for r in weather if r["station"] == st] for st in STATIONS}
    times = [r["timestamp"] - EPOCH_START for r in by_station[STATIONS[0]]]
    zone_edges = {st: [e for e, s in EDGE_STATION.items() if s == st] for st in STATIONS}
    cmd = [sumolib.checkBinary("sumo"),
           "-n", NET_FILE, "-r", os.path.join(tmp, "routes.rou.xml"),
           "-a", os.path.join(tmp, "detectors.add.xml"),
           "--begin", "0", "--end", str(int(duration)),
           "--step-length", str(STEP_LENGTH), "--seed", str(seed),
           "--lateral-resolution", "-1",          # sub-lane model off: classic lane changing
           "--time-to-teleport", "600",           # queues behind an incident may wait long
           "--collision.action", "warn", "--collision.check-junctions", "false",
           "--device.ssm.probability", str(SSM_PROBABILITY), "--device.ssm.deterministic",
           "--device.ssm.measures", "TTC DRAC",
           "--device.ssm.thresholds", "%g %g" % (TTC_THRESHOLD, DRAC_THRESHOLD),
           "--device.ssm.range", "60", "--device.ssm.extratime", "0",
           # (write-lane-positions is accepted by 1.15 but ignored: see xy_to_lane)
           "--device.ssm.trajectories", "false", "--device.ssm.write-lane-positions", "true",
           "--device.ssm.file", os.path.join(tmp, "ssm.xml"),
           "--stop-output", os.path.join(tmp, "stops.xml"),
           "--statistic-output", os.path.join(tmp, "stats.xml"),
           "--precision", "4",                    # loop times to 0.1 ms (default: 10 ms)
           "--no-step-log", "true", "--no-warnings", "true", "--duration-log.disable", "true"]
    traci.start(cmd)
    base = {}      # vehID -> (speedFactor, tau, decel) as drawn from its vType
    applied = {}   # vehID -> effect tuple currently applied
    state = {st: (1.0, 1.0, 1.0) for st in STATIONS}

    def apply(vid, eff):
        if applied.get(vid) == eff:
            return
        if vid not in base:
            base[vid] = (traci.vehicle.getSpeedFactor(vid), traci.vehicle.getTau(vid),
                         traci.vehicle.getDecel(vid))
        sf, tau, dec = base[vid]
        traci.vehicle.setSpeedFactor(vid, sf * eff[0])
        traci.vehicle.setTau(vid, tau * eff[1])
        traci.vehicle.setDecel(vid, dec * eff[2])
        applied[vid] = eff

    steps = int(round(duration / STEP_LENGTH))
    check_every = int(round(10.0 / STEP_LENGTH))
    for step in range(steps):
        traci.simulationStep()
        t = (step + 1) * STEP_LENGTH
        i = bisect.bisect_right(times, t) - 1
        for st in STATIONS:
            state[st] = weather_effect(by_station[st][i])
        # new vehicles enter in the west zone (A or the on-ramp)
        for vid in traci.simulation.getDepartedIDList():
            apply(vid, state["WS-WEST"])
        for vid in traci.simulation.getArrivedIDList():
            base.pop(vid, None)
            applied.pop(vid, None)
        if step % check_every == 0:
            # the first edge of the east zone (DE, 712 m at 80 km/h) takes over 20 s to cross,
            # so a 10 s poll catches every vehicle entering the zone; a new weather class
            # reaches every vehicle within 10 s
            for st in STATIONS:
                for e in zone_edges[st]:
                    for vid in traci.edge.getLastStepVehicleIDs(e):
                        apply(vid, state[st])
    traci.close()


# --------------------------------------------------------------------------------------------
# Loop events
# --------------------------------------------------------------------------------------------

def point_events(path, pid, stats):
    """Yield (timestamp_out_2, json line, point id) for one point, in (almost) event-time order.

    instantInductionLoop writes 'enter' when the front passes the loop and 'leave' when the back
    passes it ('stay' records, written while a vehicle stands on a loop, are ignored). A vehicle
    that changes lanes between or on the loops, or stands on them at the end of the run, never
    completes a pair and is dropped (counted).
    """
    pending = {}   # vehID -> [lane, in1, out1, in2, out2, length] while it crosses the pair
    last = {}      # lane -> (in1, out1) of the previous vehicle
    for _, el in ET.iterparse(path, events=("end",)):
        if el.tag != "instantOut":
            continue
        det = el.get("id")
        lane, loop = int(det.split("_")[1]), int(det.split("_")[2])
        vid, st, tm = el.get("vehID"), el.get("state"), float(el.get("time"))
        length = float(el.get("length") or 0.0)
        el.clear()
        if st not in ("enter", "leave"):
            continue
        rec = pending.get(vid)
        if loop == 1 and st == "enter":
            pending[vid] = [lane, tm, None, None, None, length]
            continue
        if rec is None or rec[0] != lane:
            if rec is not None:
                stats["dropped_lane_change"] += 1
                del pending[vid]
            continue
        if loop == 1:
            rec[2] = tm
        elif st == "enter":
            rec[3] = tm
        else:
            rec[4] = tm
            del pending[vid]
            if None in rec[1:5] or not (rec[1] <= rec[2] and rec[3] <= rec[4]):
                stats["dropped_incomplete"] += 1
                continue
            in1, out1, in2, out2 = rec[1:5]
            dt = in2 - in1
            if dt <= 0:
                stats["dropped_incomplete"] += 1
                continue
            speed = LOOP_SPACING / dt * 3.6
            prev = last.get(lane)
            if prev is None:
                # the first vehicle of a lane has no leader at this point: gap unknown;
                # use the time since the start of the run (a long, harmless gap)
                gap_s = in1
            else:
                gap_s = in1 - prev[1]
            if gap_s < 0:
                # overlap with the previous vehicle: only possible after a lane change onto
                # the loops; a real detector would report garbage, drop it
                stats["dropped_overlap"] += 1
                continue
            last[lane] = (in1, out1)
            speed = round(speed, 1)   # gap_meters from the speed as written, so both agree
            ev = {"lane": lane + 1,
                  "timestamp_in_1": round(EPOCH_START + in1, 3),
                  "timestamp_out_1": round(EPOCH_START + out1, 3),
                  "timestamp_in_2": round(EPOCH_START + in2, 3),
                  "timestamp_out_2": round(EPOCH_START + out2, 3),
                  "speed": speed,
                  "gap_meters": round(gap_s * speed / 3.6, 2),
                  "gap_seconds": round(gap_s, 3),
                  "length": rec[5],
                  "point_id": pid}
            yield ev["timestamp_out_2"], json.dumps(ev, separators=(",", ":")), pid


def reorder(gen, slack=10.0):
    """Emit items sorted by key, assuming the input is never more than `slack` seconds out of order
    (leave times within one simulation step, vehicles of different lengths on different lanes)."""
    heap = []
    seq = 0
    for item in gen:
        heapq.heappush(heap, (item[0], seq, item))
        seq += 1
        while heap and heap[0][0] < item[0] - slack:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


def write_events(tmp, out_path):
    stats = {"dropped_lane_change": 0, "dropped_incomplete": 0, "dropped_overlap": 0}
    per_point = {}
    gens = [reorder(point_events(os.path.join(tmp, "loops_%s.xml" % p[0]), p[0], stats))
            for p in POINTS]
    n = 0
    # mtime=0: byte-identical gzip for the same seed
    with open(out_path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        for _, line, pid in heapq.merge(*gens, key=lambda x: x[0]):
            gz.write(line.encode() + b"\n")
            n += 1
            per_point[pid] = per_point.get(pid, 0) + 1
    return n, per_point, stats


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------

def read_conflicts(tmp, net, starts, nodes, point_ch):
    """(point, epoch time, kind) for every SSM conflict that crosses a threshold.

    When both vehicles of an encounter carry a device, SUMO writes the conflict twice (once from
    the follower's, once from the leader's view, same time and place); it is counted once."""
    labels = []
    unmapped = 0
    seen = set()
    for _, el in ET.iterparse(os.path.join(tmp, "ssm.xml"), events=("end",)):
        if el.tag != "conflict":
            continue
        kind = None
        t = xy = None
        ttc = el.find("minTTC")
        if ttc is not None and ttc.get("value") not in (None, "NA") and float(ttc.get("value")) < TTC_THRESHOLD:
            kind = "ttc<%g" % TTC_THRESHOLD
            t, xy = float(ttc.get("time")), ttc.get("position")
        else:
            drac = el.find("maxDRAC")
            if drac is not None and drac.get("value") not in (None, "NA") and float(drac.get("value")) > DRAC_THRESHOLD:
                kind = "drac>%g" % DRAC_THRESHOLD
                t, xy = float(drac.get("time")), drac.get("position")
        pair = tuple(sorted((el.get("ego"), el.get("foe"))))
        el.clear()
        if kind is None:
            continue
        key = (pair, kind, round(t, 1))
        if key in seen:
            continue
        seen.add(key)
        ch = None
        if xy and xy != "NA":
            lane, pos = xy_to_lane(net, *map(float, xy.split(",")))
            ch = lane_chainage(lane, pos, starts, nodes)
        pid = point_for_chainage(ch, point_ch) if ch is not None else None
        if pid is None:
            unmapped += 1
            continue
        labels.append((pid, EPOCH_START + t, kind))
    return labels, unmapped


def read_incidents(tmp, starts, nodes, point_ch):
    labels = []
    for _, el in ET.iterparse(os.path.join(tmp, "stops.xml"), events=("end",)):
        if el.tag == "stopinfo" and el.get("id", "").startswith("incident_"):
            ch = lane_chainage(el.get("lane"), float(el.get("pos")), starts, nodes)
            pid = point_for_chainage(ch, point_ch)
            if pid is not None:
                labels.append((pid, EPOCH_START + float(el.get("started")), "incident",
                               float(el.get("ended")) - float(el.get("started"))))
        el.clear()
    return labels


def positive_rates(labels, duration):
    """Share of (point, minute) rows whose label is positive for horizon H.

    A row is the one-minute window [T-60, T) of a point (T = window end, as saferoads publishes
    it); it is positive for horizon H when the point has a label with T < timestamp <= T + H min,
    the rule of `saferoads train` (src/model/train/labels.ts). Rows whose horizon runs past the
    end of the simulation are not counted (the trainer also leaves out its warm-up, the first
    long window).
    """
    by_point = {p[0]: [] for p in POINTS}
    for pid, ts, _ in labels:
        by_point[pid].append(ts)
    rates = {}
    for h in HORIZONS_MIN:
        pos = tot = 0
        for pid, ts in by_point.items():
            ts.sort()
            for m in range(1, int(duration // 60) + 1):
                T = EPOCH_START + 60 * m
                if T + 60 * h > EPOCH_START + duration:
                    break
                i = bisect.bisect_right(ts, T)
                tot += 1
                pos += i < len(ts) and ts[i] <= T + 60 * h
        rates["%dmin" % h] = round(pos / tot, 4) if tot else None
    return rates


# --------------------------------------------------------------------------------------------

def main():
    global TTC_THRESHOLD, DRAC_THRESHOLD, SSM_PROBABILITY
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--hours", type=float, default=12.0, help="simulated hours from 04:00 UTC")
    ap.add_argument("--out", default=os.path.join(SIM_DIR, "data"))
    ap.add_argument("--ttc", type=float, default=TTC_THRESHOLD, help="TTC label threshold [s]")
    ap.add_argument("--drac", type=float, default=DRAC_THRESHOLD, help="DRAC label threshold [m/s2]")
    ap.add_argument("--ssm-probability", type=float, default=SSM_PROBABILITY,
                    help="share of vehicles with an SSM device")
    ap.add_argument("--keep-tmp", action="store_true", help="keep SUMO's raw outputs (prints the path)")
    args = ap.parse_args()
    TTC_THRESHOLD, DRAC_THRESHOLD, SSM_PROBABILITY = args.ttc, args.drac, args.ssm_probability

    t0 = time.time()
    duration = args.hours * 3600.0
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="saferoads-sim-")
    net = sumolib.net.readNet(NET_FILE)
    starts, nodes, total_len = chainage_table(net)
    point_ch = sorted(((pid, starts[edge] + pos) for pid, edge, pos, *_ in POINTS), key=lambda x: x[1])

    with open(os.path.join(args.out, "points.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["point_id", "nearest_weather_station", "road_shape", "allowed_speed"])
        for pid, _, _, shape, speed, station in POINTS:
            w.writerow([pid, station, shape, speed])

    weather = build_weather(duration, args.seed)
    with open(os.path.join(args.out, "weather.ndjson"), "w") as f:
        for r in weather:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")

    write_routes(os.path.join(tmp, "routes.rou.xml"), duration)
    write_detectors(os.path.join(tmp, "detectors.add.xml"), net, tmp)
    print("simulating %.1f h ..." % args.hours, flush=True)
    run_sumo(tmp, duration, args.seed, weather)
    t_sim = time.time() - t0
    print("simulation done in %.0f s; converting" % t_sim, flush=True)

    n_events, per_point, drop_stats = write_events(tmp, os.path.join(args.out, "events.ndjson.gz"))
    conflicts, unmapped = read_conflicts(tmp, net, starts, nodes, point_ch)
    incidents = read_incidents(tmp, starts, nodes, point_ch)
    labels = sorted(conflicts + [i[:3] for i in incidents], key=lambda x: (x[1], x[0]))
    with open(os.path.join(args.out, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["point_id", "timestamp", "kind"])
        for pid, ts, kind in labels:
            w.writerow([pid, "%.1f" % ts, kind])

    kinds = {}
    for _, _, k in labels:
        kinds[k] = kinds.get(k, 0) + 1
    label_points = {}
    for pid, _, _ in labels:
        label_points[pid] = label_points.get(pid, 0) + 1
    version = subprocess.run([sumolib.checkBinary("sumo"), "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    stats = ET.parse(os.path.join(tmp, "stats.xml")).getroot()
    veh = stats.find("vehicles")
    tele = stats.find("teleports")
    manifest = {
        "generator": "sim/generate.py",
        "sumo_version": version,
        "seed": args.seed,
        "epoch_start": EPOCH_START,
        "epoch_start_iso": datetime.datetime.fromtimestamp(EPOCH_START, datetime.timezone.utc).isoformat(),
        "sim_seconds": duration,
        "epoch_end": EPOCH_START + int(duration),
        "step_length_s": STEP_LENGTH,
        "loop_spacing_m": LOOP_SPACING,
        "road_length_m": round(total_len, 1),
        "points": len(POINTS),
        "point_chainage_m": {pid: round(ch, 1) for pid, ch in point_ch},
        "edge_start_chainage_m": {e: round(c, 1) for e, c in starts.items()},
        "counts": {
            "events": n_events,
            "events_per_point": dict(sorted(per_point.items())),
            "events_dropped": drop_stats,
            "weather_readings": len(weather),
            "vehicles_inserted": int(veh.get("inserted")),
            "vehicles_not_inserted_at_end": int(veh.get("waiting")),
            "teleports": int(tele.get("total")),
            "labels": len(labels),
            "labels_by_kind": kinds,
            "labels_by_point": dict(sorted(label_points.items())),
            "conflicts_not_mapped": unmapped,
        },
        "incidents": [{"point_id": p, "timestamp": round(t, 1), "duration_s": round(d, 1)}
                      for p, t, _, d in incidents],
        "label_rule": {
            "ssm_device_probability": SSM_PROBABILITY,
            "ttc_threshold_s": TTC_THRESHOLD,
            "drac_threshold_mps2": DRAC_THRESHOLD,
            "assign": "last point upstream of the conflict position (a point up to %g m downstream "
                      "also counts), at most %g m away" % (LABEL_DOWNSTREAM_TOLERANCE, LABEL_MAX_DISTANCE),
            "row_positive": "window end T of a (point, minute) row; positive for horizon H if a "
                            "label of the point has T < timestamp <= T + H minutes",
        },
        "positive_rate": positive_rates(labels, duration),
        "generation_seconds": round(time.time() - t0, 1),
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    if args.keep_tmp:
        print("raw SUMO outputs kept in", tmp)
    else:
        shutil.rmtree(tmp)
    print(json.dumps({"events": n_events, "labels": len(labels), "positive_rate": manifest["positive_rate"],
                      "seconds": manifest["generation_seconds"]}))


if __name__ == "__main__":
    main()
