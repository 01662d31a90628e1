#!/usr/bin/env python3
"""The pandas baseline of `npm run bench` (suite "pandas"): what a data-science notebook would do.

Consumes the bench's seed-JSON car topic (one loop event per record) with confluent-kafka, parses
every record with json.loads, and once per minute of event time re-computes, per road point, the
1-minute and the 10-minute window aggregates ending at that minute -- count, mean speed, speed
variance, occupancy (sum of time over the loop / (window length x lanes with traffic), as
src/kernel/contract.ts) -- with pandas groupby over the events of the last 10 minutes.

Argument: one JSON object {"brokers": [...], "topic": str, "until": {"partition": end offset},
"events": expected events}. Prints one line `RESULT {json}` (events, seconds from the first record,
window ends computed, rows) or the error on stderr and exits 1; it checks its own event count.
"""
import json
import sys
import time

import pandas as pd
from confluent_kafka import Consumer, KafkaError, TopicPartition

SHORT_S = 60
LONG_S = 600


def aggregates(frame: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    """Per point: count, mean speed, speed variance, occupancy of the events with start <= t < end."""
    w = frame[(frame["timestamp_out_2"] >= start) & (frame["timestamp_out_2"] < end)]
    g = w.groupby("point_id")
    out = pd.DataFrame(
        {
            "count": g.size(),
            "mean_speed": g["speed"].mean(),
            "speed_var": g["speed"].var(ddof=0),
            "occupied_s": g["occupied_s"].sum(),
            "lanes": g["lane"].nunique(),
        }
    )
    out["occupancy"] = out["occupied_s"] / ((end - start) * out["lanes"])
    out["window_end"] = end
    return out


def main() -> int:
    task = json.loads(sys.argv[1])
    until = {int(p): int(o) for p, o in task["until"].items()}
    consumer = Consumer(
        {
            "bootstrap.servers": ",".join(task["brokers"]),
            "group.id": f"saferoads-bench-pandas-{time.time_ns()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(task["topic"], p, 0) for p in until if until[p] > 0])
    remaining = {p for p in until if until[p] > 0}
    pending = []  # events (dicts) of the minute(s) not yet turned into a DataFrame
    recent = pd.DataFrame()  # the last 10 minutes of events
    minute = None  # the minute of event time the next computation ends
    events = 0
    windows = 0
    rows = 0
    first = None

    def compute(end_minute: int) -> None:
        nonlocal recent, pending, windows, rows
        if pending:
            frame = pd.DataFrame.from_records(pending)
            frame["occupied_s"] = frame["timestamp_out_1"] - frame["timestamp_in_1"]
            recent = frame if recent.empty else pd.concat([recent, frame], ignore_index=True)
            pending = []
        end = end_minute * 60.0
        recent = recent[recent["timestamp_out_2"] >= end - LONG_S]
        short = aggregates(recent, end - SHORT_S, end)
        long = aggregates(recent, end - LONG_S, end)
        joined = long.join(short, how="left", lsuffix="_10m", rsuffix="_1m").fillna({"count_1m": 0})
        windows += 1
        rows += len(joined)

    while remaining:
        batch = consumer.consume(num_messages=5000, timeout=1.0)
        for m in batch:
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(str(m.error()))
            if first is None:
                first = time.perf_counter()
            p, offset = m.partition(), m.offset()
            if offset >= until.get(p, 0):
                continue
            e = json.loads(m.value())
            t = e["timestamp_out_2"]
            m_now = int(t // 60)
            if minute is None:
                minute = m_now
            # A minute of event time is over: recompute both windows per point, as a notebook would.
            while m_now > minute:
                minute += 1
                compute(minute)
            pending.append(e)
            events += 1
            if offset + 1 >= until[p]:
                remaining.discard(p)
    if minute is not None:
        compute(minute + 1)
    done = time.perf_counter()
    consumer.close()
    if events != task["events"]:
        raise RuntimeError(f"pandas client parsed {events} events, expected {task['events']}")
    seconds = done - first if first is not None else 0.0
    print("RESULT " + json.dumps({"events": events, "seconds": seconds, "windowEnds": windows, "rows": rows, "pandas": pd.__version__}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # noqa: BLE001 - reported to the bench, which keeps no figure
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
