"""Writes loop events to Kafka the way the seed's generator (generator/loops.py) does.

A confluent-kafka (librdkafka) producer with its default partitioner, the record key str(point_id),
and the value json.dumps of the event with point_id as a JSON integer.

usage: confluent_producer.py BROKERS TOPIC EVENTS.ndjson
"""
import json
import sys

from confluent_kafka import Producer


def main() -> None:
    brokers, topic, path = sys.argv[1:4]
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 20})
    failures = []

    def delivered(err, _msg):
        if err is not None:
            failures.append(str(err))

    with open(path, encoding="utf-8") as lines:
        for line in lines:
            event = json.loads(line)
            while True:
                try:
                    producer.produce(topic, value=json.dumps(event), key=str(event["point_id"]), on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
    left = producer.flush(60)
    if left or failures:
        sys.exit(f"confluent_producer: {left} undelivered, {len(failures)} failed: {failures[:3]}")


if __name__ == "__main__":
    main()
