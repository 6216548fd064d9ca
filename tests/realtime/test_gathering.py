"""Gathered reads (realtime/gathering.py): calls arriving together share a trip to the database threads."""

import asyncio
import threading

import pytest

from realtime.gathering import Gathered


async def test_reads_arriving_while_the_trips_are_under_way_go_together_in_the_next():
    release = threading.Event()
    trips: list[list[int]] = []

    def doubled(keys: list[int]) -> list[int]:
        trips.append(keys)
        release.wait(10)
        return [key * 2 for key in keys]

    gathered = Gathered(doubled)
    calls = [asyncio.ensure_future(gathered(key)) for key in range(10)]
    while len(trips) < Gathered.TRIPS:  # the first calls go at once, alone; the others wait
        await asyncio.sleep(0.01)
    assert sorted(trips) == [[0], [1]]
    release.set()
    assert await asyncio.gather(*calls) == [key * 2 for key in range(10)]
    assert sorted(trips) == [[0], [1], list(range(2, 10))]


async def test_a_failed_trip_fails_each_of_its_calls_and_the_next_trip_goes():
    def failing(keys: list[int]) -> list[int]:
        if 0 in keys:
            raise RuntimeError("the database went away")
        return keys

    gathered = Gathered(failing)
    with pytest.raises(RuntimeError):
        await gathered(0)
    assert await gathered(1) == 1


async def test_a_caller_that_goes_away_does_not_stop_the_others():
    release = threading.Event()

    def slow(keys: list[int]) -> list[int]:
        release.wait(10)
        return keys

    gathered = Gathered(slow)
    calls = [asyncio.ensure_future(gathered(key)) for key in range(5)]
    await asyncio.sleep(0.05)
    calls[3].cancel()
    release.set()
    assert await asyncio.gather(*calls[:3], calls[4]) == [0, 1, 2, 4]
