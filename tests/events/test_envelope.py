"""The broker's message format: packing, cutting under the payload limit, reading back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.errors import InputError
from tenure.events.envelope import pack, unpack
from tenure.events.identity import Link
from tenure.events.schemas import MAX_JSON_BYTES, EventIn, _surely_small

T = datetime(2025, 6, 30, 10, tzinfo=UTC)


def _events(n: int) -> list[EventIn]:
    return [
        EventIn(
            message_id=f"m{i}" if i % 4 else None,  # every fourth has a derived id
            account_id="A1" if i % 3 else None,
            contact_id=f"u{i}",
            event="Feature Used",
            timestamp=T,
            properties={"feature": "export", "rows": i, "note": "é" * (i % 5)},
            source="segment",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("per_event", [False, True])
def test_pack_then_unpack_gives_back_the_events_with_their_ids_and_links(per_event) -> None:
    events = _events(9)
    links = [[] for _ in events]
    links[2] = [Link("u2", account_external_id="A2", email="u2@example.com")]
    messages = pack(events, links, per_event=per_event, max_bytes=1_000_000)
    assert len(messages) == (9 if per_event else 1)
    read, linked = [], []
    for _, payload in messages:
        these, their_links = unpack(payload)
        read.extend(these)
        linked.extend(their_links)
    assert [e.resolved_message_id() for e in read] == [e.resolved_message_id() for e in events]
    assert [e.model_dump() for e in read] == [
        {**e.model_dump(), "message_id": e.resolved_message_id()} for e in events
    ]
    assert linked == [links[2][0]]
    if per_event:
        assert [m for m, _ in messages] == [e.resolved_message_id() for e in events]


def test_a_request_is_cut_under_the_payload_limit_with_stable_ids() -> None:
    events = _events(40)
    links = [[Link("u0", alias_of="anon-0")]] + [[] for _ in events[1:]]
    whole = pack(events, links, per_event=False, max_bytes=1_000_000)[0][1]
    messages = pack(events, links, per_event=False, max_bytes=len(whole) // 3)
    assert len(messages) >= 3
    assert all(len(payload) <= len(whole) // 3 for _, payload in messages)
    ids = [e.message_id for _, payload in messages for e in unpack(payload)[0]]
    assert ids == [e.resolved_message_id() for e in events]
    assert all(unpack(payload)[1] == links[0] for _, payload in messages)  # links in every part
    again = pack(events, links, per_event=False, max_bytes=len(whole) // 3)
    assert [m for m, _ in again] == [m for m, _ in messages]  # a retry de-duplicates
    assert len({m for m, _ in messages}) == len(messages)


@pytest.mark.parametrize("payload", [b"not json", b'{"v": 9, "events": []}', b'{"v": 1}'])
def test_a_message_that_is_not_ours_is_an_input_error(payload) -> None:
    with pytest.raises(InputError, match="event message"):
        unpack(payload)


scalars = st.one_of(
    st.text(max_size=3000), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()
)


@given(st.dictionaries(st.text(max_size=40), scalars, max_size=8))
def test_surely_small_is_never_wrong(value) -> None:
    if _surely_small(value):
        size = len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8"))
        assert size <= MAX_JSON_BYTES


def test_surely_small_leaves_big_and_nested_values_to_the_exact_check() -> None:
    assert _surely_small({"feature": "export", "rows": 12, "ok": True})
    assert not _surely_small({"blob": "x" * 3000})  # 36,000 bytes at worst: serialize it
    assert not _surely_small({"nested": {"a": 1}})
    assert not _surely_small({"huge": 10**30})
