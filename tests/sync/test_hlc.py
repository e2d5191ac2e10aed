"""The hybrid logical clock: always forward, across wall-clock jumps, restarts and messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campus.sync.hlc import (
    MAX_FORWARD_DRIFT_MS,
    ClockDriftError,
    HybridLogicalClock,
    counter_of,
    pack,
    physical_ms,
)

START_MS = 1_795_000_000_000  # November 2026
wall_readings = st.lists(st.integers(min_value=START_MS - 10**7, max_value=START_MS + 10**7), min_size=1,
                         max_size=200)


def _clock(readings: list[int]) -> HybridLogicalClock:
    values = iter(readings)
    last = [readings[0]]

    def wall() -> int:
        last[0] = next(values, last[0])
        return last[0]

    return HybridLogicalClock(wall=wall)


@given(wall_readings)
def test_timestamps_strictly_increase_whatever_the_wall_clock_does(readings: list[int]) -> None:
    clock = _clock(readings)

    stamps = [clock.now() for _ in readings]

    assert stamps == sorted(set(stamps))


@given(wall_readings, st.integers(min_value=0, max_value=(START_MS + 10**8) << 16))
def test_a_restarted_clock_never_goes_below_what_it_persisted(readings: list[int], persisted: int) -> None:
    clock = HybridLogicalClock(last=persisted, wall=lambda: readings[0])

    assert clock.now() > persisted


ops = st.lists(st.tuples(st.sampled_from(["a_tick", "b_tick", "a_to_b", "b_to_a"]),
                         st.integers(min_value=-5000, max_value=5000)), min_size=1, max_size=100)


@given(ops)
@settings(max_examples=200)
def test_a_received_timestamp_orders_after_the_send_and_everything_before_it(steps: list[tuple[str, int]]) -> None:
    skew = {"a": 0, "b": 0}
    now = [START_MS]
    clocks = {name: HybridLogicalClock(wall=lambda name=name: now[0] + skew[name]) for name in "ab"}
    seen = {"a": 0, "b": 0}
    for step, jitter in steps:
        now[0] += abs(jitter) // 10
        skew[step[0]] = jitter  # each side's wall clock wanders, sometimes backwards
        if step.endswith("tick"):
            stamp = clocks[step[0]].now()
            assert stamp > seen[step[0]]
            seen[step[0]] = stamp
        else:
            sender, receiver = step[0], step[-1]
            sent = clocks[sender].now()
            seen[sender] = sent
            received = clocks[receiver].observe(sent)
            assert received > sent and received > seen[receiver]
            seen[receiver] = received


def test_more_than_65535_events_in_one_millisecond_still_increase() -> None:
    clock = HybridLogicalClock(wall=lambda: START_MS)

    stamps = [clock.now() for _ in range(70_000)]

    assert stamps == sorted(set(stamps))
    assert physical_ms(stamps[-1]) == START_MS + 1 and counter_of(stamps[0]) == 0


def test_a_remote_clock_a_day_ahead_is_refused_and_changes_nothing() -> None:
    clock = HybridLogicalClock(wall=lambda: START_MS)
    before = clock.now()

    with pytest.raises(ClockDriftError):
        clock.observe(pack(START_MS + MAX_FORWARD_DRIFT_MS + 1, 0))

    assert clock.last == before
