#!/usr/bin/env python3
"""Writes the quickstart's bundled sample: events.ndjson (user events, a few of them broken on
purpose to show the dead-letter table), live_events.ndjson (posted over HTTP) and readings.csv
(sensor readings). Deterministic."""
import json
import random

rng = random.Random(20240601)
types = ["view"] * 12 + ["add_to_cart"] * 4 + ["purchase"] * 2 + ["refund"]
devices = ["mobile"] * 6 + ["desktop"] * 3 + ["tablet"]

with open("events.ndjson", "w") as out:
    for i in range(20000):
        day = 1 + (i * 14) // 20000
        seconds = rng.randrange(86400)
        event_type = rng.choice(types)
        amount = 0.0
        if event_type in ("purchase", "add_to_cart"):
            amount = round(rng.uniform(5, 400), 2)
        elif event_type == "refund":
            amount = -round(rng.uniform(5, 100), 2)
        event = {
            "event_time": f"2024-06-{day:02d}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{rng.randrange(1000):03d}Z",
            "user_id": int(rng.paretovariate(1.2) * 100) % 5000 + 1,
            "event_type": event_type,
            "amount": amount,
            "device_type": rng.choice(devices),
        }
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
        if i in (4711, 12345):
            out.write('{"event_time":"2024-06-31T10:00:00Z","user_id":7,"event_type":"view","amount":0,"device_type":"mobile"}\n')
        if i == 9000:
            out.write('{"event_time":"2024-06-07T10:00:00Z","user_id":-3,"event_type":"view","amount":0,"device_type":"mobile"}\n')
        if i == 15000:
            out.write('{"event_time":"2024-06-11T10:00:00Z","user_id":42,"event_type":"purchase",\n')

with open("readings.csv", "w") as out:
    out.write("id,timestamp,value\n")
    for i in range(5000):
        out.write(f"{i + 1},2024-06-01 00:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d},{20 + rng.gauss(0, 1.5):.4f}\n")

# Posted over HTTP by run.sh while sluice serves: a day of live events, one of them invalid.
with open("live_events.ndjson", "w") as out:
    for i in range(1000):
        seconds = rng.randrange(86400)
        event_type = rng.choice(types)
        amount = round(rng.uniform(5, 400), 2) if event_type in ("purchase", "add_to_cart") else 0.0
        event = {
            "event_time": f"2024-06-15T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z",
            "user_id": int(rng.paretovariate(1.2) * 100) % 5000 + 1,
            "event_type": event_type,
            "amount": amount,
            "device_type": rng.choice(devices),
        }
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
    out.write('{"event_time":"2024-06-15T12:00:00Z","user_id":"not a number","event_type":"view","amount":0,"device_type":"tv"}\n')
