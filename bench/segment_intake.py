"""Benchmark reading a Segment `/v1/batch` body into events (CPU per event), as JSON.

Usage: .venv/bin/python bench/segment_intake.py [--batch 500] [--repeat 15]

What a tracking handler does per request before storing or publishing: parse the JSON body,
validate `SegmentBatch`, then `read_messages` (each message as `SegmentMessage`, mapped to an
event, identity links). Baseline in the same run: validating the same events once as `EventIn`
from ready-made dicts, nothing else. CPU time (`time.process_time`), the minimum over --repeat
runs of 5 bodies, so other processes' load inflates it little.
"""

from __future__ import annotations

import argparse
import json
import time
import timeit
from datetime import UTC, datetime

from tenure.api.segment import SegmentBatch, read_messages
from tenure.events.schemas import EventIn


def main() -> None:
    """Time the intake and the baseline; print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    message = {"type": "track", "event": "Feature Used", "context": {"groupId": "A1"}}
    messages = [
        {**message, "userId": f"u{i}", "messageId": f"p-{i}", "properties": {"feature": "x"}}
        for i in range(args.batch)
    ]
    body = json.dumps({"batch": messages}).encode()
    now = datetime.now(UTC)
    events = [
        {"message_id": m["messageId"], "account_id": "A1", "contact_id": m["userId"],
         "event": "Feature Used", "timestamp": now, "properties": {"feature": "x"},
         "source": "segment"}
        for m in messages
    ]  # fmt: skip

    def intake() -> None:
        batch = SegmentBatch.model_validate(json.loads(body))
        assert len(read_messages(batch.batch, shared=batch.context).events) == args.batch

    def baseline() -> None:
        for event in events:
            EventIn.model_validate(event, context={"json_bounded": True})

    def per_event(work) -> float:
        runs = timeit.repeat(work, number=5, repeat=args.repeat, timer=time.process_time)
        return min(runs) / 5 / args.batch * 1e6

    read, floor = per_event(intake), per_event(baseline)
    print(json.dumps({
        "batch": args.batch,
        "intake_cpu_us_per_event": round(read, 2),
        "baseline_eventin_once_cpu_us_per_event": round(floor, 2),
        "ratio": round(read / floor, 2),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
