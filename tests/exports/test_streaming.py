"""The CSV and GeoJSON-sequence datasets stream: memory stays flat however many records pass.

Records are made one at a time and the sink throws bytes away, so whatever
memory grows is the exporter's. The peak is sampled while records are read:
``tracemalloc`` gives bytes but slows allocation-heavy code ~10x, so it runs
on 5k records; live object counts (``sys.getallocatedblocks``) are cheap and
compare the peak over the first 20k records with the peak over 200k.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Iterator

import pytest

from exports.base import get
from exports.records import CatchRecord
from tests.exports.records import DiscardSink, make_context, stream_records

FORMATS = ["dataset_csv", "dataset_geojsonseq"]


def sampled(records: Iterator[CatchRecord], sample: list[int]) -> Iterator[CatchRecord]:
    base = sys.getallocatedblocks()
    for i, r in enumerate(records):
        if i % 1000 == 0:
            sample.append(sys.getallocatedblocks() - base)
        yield r


def block_samples(name: str, n: int) -> list[int]:
    """Live allocations above the start, sampled every 1000 records while ``n`` pass."""
    gc.collect()
    sample: list[int] = []
    sink = DiscardSink()
    stats = get(name)().write(sampled(stream_records(n), sample), sink, make_context())
    assert stats.records == n and sum(s.size for s in sink.sizes.values()) > n * 100
    return sample


@pytest.mark.parametrize("name", FORMATS)
def test_peak_memory_is_a_few_megabytes(name: str) -> None:
    exporter = get(name)()  # imports done before measuring
    context = make_context()
    tracemalloc.start()
    try:
        exporter.write(stream_records(5_000), DiscardSink(), context)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"{peak / 1e6:.1f} MB"


@pytest.mark.parametrize("name", FORMATS)
def test_memory_does_not_grow_with_the_number_of_records(name: str) -> None:
    sample = block_samples(name, 200_000)
    first_20k, all_200k = max(sample[:20]), max(sample)
    # Keeping even 1% of 200k records, or their rows, would add thousands of blocks.
    assert all_200k < first_20k + 1000, (first_20k, all_200k)
    assert all_200k < 5000
