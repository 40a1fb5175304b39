"""The fast paths of the logger analysis give exactly what the plain per-row code gave.

The reference functions below are the plain implementations the fast ones replaced (stamp parsing and
``LoggerRow(...)`` per row, a sort of (stamp, rowid, row) tuples, a spike finder fed one reading at a time, a
``Counter`` of minutes and a slot walker fed one group at a time). Results are compared by ``repr`` so that
NaN, -0.0, int-vs-float and datetime ``fold`` differences would show.
"""

from __future__ import annotations

import datetime as dt
import math
import pickle
import random
import sqlite3
import statistics
from collections import Counter, deque
from dataclasses import replace
from operator import itemgetter
from pathlib import Path
from typing import Any, Deque, List, Optional, Sequence, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetaudit.checks import logger_slots
from fleetaudit.checks.common import local, minute
from fleetaudit.checks.logger_slots import Burst, Drift, Gap, SlotAnalysis, detect_interval, slot_of
from fleetaudit.checks.thermal import MIN_BASELINE_ROWS, Spike, spikes
from fleetaudit.facts import LoggerData, LoggerRow
from fleetaudit.model import LoggerSpec
from fleetaudit.parse.loggerdb import _float, interval_of, parse_stamp, read_logger

# --- the plain implementations -------------------------------------------------------------------------------


def ref_rows(path: Path, table: str, stamp: str, temp: Optional[str], ambient: Optional[str]) -> List[LoggerRow]:
    cols = ", ".join(f'"{c}"' if c else "NULL" for c in (stamp, temp, ambient))
    db = sqlite3.connect(str(path))
    try:
        out = []
        for rowid, raw, t, a in db.execute(f'SELECT rowid, {cols} FROM "{table}" ORDER BY rowid'):
            when = parse_stamp(raw)
            if when is not None:
                out.append(LoggerRow(int(rowid), when, str(raw), _float(t), _float(a)))
        return out
    finally:
        db.close()


def ref_interval_of(stamps: Sequence[dt.datetime]) -> Optional[int]:
    distinct = sorted(set(stamps))
    steps = [(b - a).total_seconds() / 60 for a, b in zip(distinct, distinct[1:])]
    if not steps:
        return None
    return max(1, round(statistics.median(steps)))


Reading = Tuple[dt.datetime, int, LoggerRow]


def _ref_median(values: Sequence[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


class _RefSpikeFinder:
    def __init__(self, window: dt.timedelta, margin: float) -> None:
        self.window, self.margin = window, margin
        self.recent: Deque[Reading] = deque()
        self.spike: List[Reading] = []
        self.base: Tuple[float, Optional[float]] = (0.0, None)
        self.found: List[Spike] = []

    def feed(self, reading: Reading) -> None:
        temp = float(reading[2].temperature or 0.0)
        if self.spike and temp - self.base[0] >= self.margin:
            self.spike.append(reading)
            return
        self.close()
        while self.recent and reading[0] - self.recent[0][0] > self.window:
            self.recent.popleft()
        if len(self.recent) >= MIN_BASELINE_ROWS:
            base = statistics.median(float(r.temperature or 0.0) for _, _, r in self.recent)
            if temp - base >= self.margin:
                self.base = (base, _ref_median([r.ambient for _, _, r in self.recent]))
                self.spike = [reading]
                return
        self.recent.append(reading)

    def close(self) -> None:
        if not self.spike:
            return
        peak = max((r for _, _, r in self.spike), key=lambda r: float(r.temperature or 0.0))
        ambient = None
        if peak.ambient is not None and self.base[1] is not None:
            ambient = round(peak.ambient - self.base[1], 2)
        self.found.append(Spike(self.spike[0][0], self.spike[-1][0], float(peak.temperature or 0.0),
                                self.base[0], ambient))
        self.spike = []


def ref_spikes(rows: Sequence[LoggerRow], window_minutes: int, margin: float) -> List[Spike]:
    keyed = [(local(r.stamp), r.rowid, r) for r in rows if r.temperature is not None]
    keyed.sort(key=itemgetter(0, 1))
    finder = _RefSpikeFinder(dt.timedelta(minutes=window_minutes), margin)
    for reading in keyed:
        finder.feed(reading)
    finder.close()
    return finder.found


def ref_detect_interval(stamps: Sequence[dt.datetime]) -> Optional[int]:
    distinct = sorted(set(stamps))
    steps = Counter(int((b - a).total_seconds() // 60) for a, b in zip(distinct, distinct[1:]))
    steps.pop(0, None)
    return steps.most_common(1)[0][0] if steps else None


class _RefWalker:
    def __init__(self, interval: int) -> None:
        self.interval = interval
        self.step = dt.timedelta(minutes=interval)
        self.bursts: List[Burst] = []
        self.gaps: List[Gap] = []
        self.drifts: List[Drift] = []
        self.late: List[Tuple[dt.datetime, int]] = []
        self.prev_slot: Optional[dt.datetime] = None
        self.prev_stamp: Optional[dt.datetime] = None

    def feed(self, stamp: dt.datetime, count: int) -> None:
        late = (stamp.hour * 60 + stamp.minute) % self.interval
        own = stamp - dt.timedelta(minutes=late) if late else stamp
        if self.prev_slot is None or self.prev_stamp is None:
            self._single(stamp, late)
        else:
            needed = int((own - self.prev_slot).total_seconds() // 60) // self.interval
            if needed <= 0:
                self.close_drift()
                return
            if count >= 2 and needed >= 2:
                self.close_drift()
                first = self.prev_slot + self.step
                self.bursts.append(Burst(stamp, count, self.prev_stamp, needed if late > 0 else needed - 1, first))
                if count < needed:
                    self._gap(first, needed - count, self.prev_stamp)
            else:
                if needed >= 2:
                    self._gap(self.prev_slot + self.step, needed - 1, self.prev_stamp)
                self._single(stamp, late if count == 1 else 0)
        self.prev_slot, self.prev_stamp = own, stamp

    def _single(self, stamp: dt.datetime, late: int) -> None:
        if late > 0:
            self.late.append((stamp, late))
        else:
            self.close_drift()

    def _gap(self, first: dt.datetime, missing: int, after: dt.datetime) -> None:
        self.close_drift()
        self.gaps.append(Gap(first, first + self.step * (missing - 1), missing, after))

    def close_drift(self) -> None:
        if self.late:
            worst = max(m for _, m in self.late)
            self.drifts.append(Drift(self.late[0][0], self.late[-1][0], len(self.late), worst))
        self.late = []


def _ref_full_days(groups: Sequence[Tuple[dt.datetime, int]], interval: int) -> Tuple[Tuple[dt.date, int], ...]:
    per_day: Counter[dt.date] = Counter()
    for stamp, count in groups:
        per_day[stamp.date()] += count
    first, last = groups[0][0], groups[-1][0]
    skip = set()
    if slot_of(first, interval).time() != dt.time(0, 0):
        skip.add(first.date())
    if (last.hour * 60 + last.minute) < 24 * 60 - interval:
        skip.add(last.date())
    return tuple((day, n) for day, n in sorted(per_day.items()) if day not in skip)


def ref_slots(data: LoggerData, interval: Optional[int] = None) -> Optional[SlotAnalysis]:
    groups = sorted(Counter(minute(r.stamp) for r in data.rows).items())
    step = interval or data.interval_minutes or ref_detect_interval([g for g, _ in groups])
    if not groups or not step or step <= 0:
        return None
    walker = _RefWalker(step)
    for stamp, count in groups:
        walker.feed(stamp, count)
    walker.close_drift()
    return SlotAnalysis(step, tuple(walker.bursts), tuple(walker.gaps), tuple(walker.drifts),
                        _ref_full_days(groups, step), (24 * 60) // step)


# --- tricky inputs -------------------------------------------------------------------------------------------

TRICKY_STAMPS = [
    "2020-09-01 05:00", "2020-09-01 05:05:00", "2020-09-01 05:10:59", "2020-09-01T05:15", "2020-09-01T05:20:07",
    "2020-09-01 05:25:00.123", "2020-09-01T05:30:00.5+09:00", "2020-09-01 05:35:00Z", "2020-09-01 05:40+0900",
    "2020-09-01 05:45:00 UTC", "2020-09-01 05:50:", "2020-09-01 05:55:5", "2020-09-01 06:00x", "garbage", "",
    "2020-13-01 00:00", "2020-02-30 10:00", "2020-01-01 24:00", "2020-01-01 10:60", "2020-01-01 10:00:60",
    "0000-01-01 10:00", "9999-12-31 23:59", "9999-12-31 23:59:59", "0001-01-01 00:00", "2020/01/01 10:00",
    "2020-W01-1 10:00", "2020-W01-1T10:00", "2020-01x01 10:00", "2020x01-01 10:00", "2020-01-01_10:00",
    "2020-01-01 10-00", "2020-01-01 1:00:0", "2020-1-01 10:00:00", "+020-01-01 10:00", " 2020-01-01 1:00",
    "2020-01-01 10:00 ", "2020-01-01 10:0\u0661", "\u0662020-01-01 10:00", "2020-01-01 10: 0", "2020-01-01 10:+1",
    "2020-01-01 10:-1", "2020-01-01 10:1_", "2020-01-01 10:00:+1", "2020-01-01 10:00:1_",
    "2020-01-01 10:00:\u0661\u0662",
    "2020-01-01 10:00\x00", "2020-01-01 10:00\x0012", "2020-01-01t10:00", "2020-01-01 10:00:00:00",
    "2021-02-29 00:00", "2024-02-29 00:00", "2020-01-01 10:00:00,5",
]


def _make_db(path: Path, values: Sequence[Tuple[int, Any, Any, Any]]) -> None:
    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE temperatures(timestamp TEXT, cpu_temp, ambient_room)")
    db.executemany("INSERT INTO temperatures(rowid, timestamp, cpu_temp, ambient_room) VALUES (?, ?, ?, ?)", values)
    db.commit()
    db.close()


def _same_rows(got: Sequence[LoggerRow], want: Sequence[LoggerRow]) -> None:
    assert repr(list(got)) == repr(list(want))
    assert [tuple(type(v) for v in vars(r).values()) for r in got] == \
        [tuple(type(v) for v in vars(r).values()) for r in want]


TEMPS: List[Any] = [45.5, 48, "48.3'C", " 47.25 ", "nan", "inf", "-inf", "bad", None, b"\x01", 0.0, -0.0, 0, True,
                    "0", 1e308, -12.5]


def test_reader_matches_plain_parsing_on_tricky_stamps_and_values(tmp_path: Path) -> None:
    rnd = random.Random(7)
    values: List[Tuple[int, Any, Any, Any]] = []
    ids = list(range(1, len(TRICKY_STAMPS) * 4 + 1))
    rnd.shuffle(ids)                                     # rowid order is not insertion order
    for i, rowid in enumerate(ids):
        values.append((rowid, TRICKY_STAMPS[i % len(TRICKY_STAMPS)], rnd.choice(TEMPS), rnd.choice(TEMPS)))
    values += [(1000, None, 1.0, 2.0), (1001, 20200101, 1.0, 2.0), (1002, b"2020-01-01 10:00", 1.0, 2.0),
               (1003, 2020.5, 1.0, None)]
    path = tmp_path / "logger.db"
    _make_db(path, values)
    for interval in (None, 5):
        spec = LoggerSpec(table="temperatures", timestamp_column="timestamp", interval_minutes=interval)
        data = read_logger(str(path), spec)
        assert data.error is None and data.temperature_column == "cpu_temp" and data.ambient_column == "ambient_room"
        _same_rows(data.rows, ref_rows(path, "temperatures", "timestamp", "cpu_temp", "ambient_room"))
        assert data.interval_minutes == (interval or ref_interval_of([r.stamp for r in data.rows]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.sampled_from(TRICKY_STAMPS),
    st.text(alphabet="0123456789-: T.+Z\u0661", min_size=14, max_size=24),
    st.builds(lambda base, cut: base[:cut], st.sampled_from(TRICKY_STAMPS), st.integers(10, 26)),
), min_size=1, max_size=40))
def test_reader_matches_plain_parsing_on_generated_stamps(tmp_path: Path, stamps: List[str]) -> None:
    path = tmp_path / "gen.db"
    if path.exists():
        path.unlink()
    _make_db(path, [(i + 1, s, float(i), None) for i, s in enumerate(stamps)])
    data = read_logger(str(path), LoggerSpec(table="temperatures", timestamp_column="timestamp", interval_minutes=5))
    _same_rows(data.rows, ref_rows(path, "temperatures", "timestamp", "cpu_temp", "ambient_room"))


def test_fast_built_rows_behave_like_constructed_ones(tmp_path: Path) -> None:
    path = tmp_path / "logger.db"
    _make_db(path, [(3, "2020-09-01 05:05", 45.5, 21.0), (1, "2020-09-01 05:00:30", "46'C", None)])
    rows = read_logger(str(path)).rows
    plain = tuple(LoggerRow(r.rowid, r.stamp, r.raw_stamp, r.temperature, r.ambient) for r in rows)
    assert rows == plain and hash(rows) == hash(plain) and repr(rows) == repr(plain)
    assert [vars(r) for r in rows] == [vars(r) for r in plain]
    assert pickle.loads(pickle.dumps(rows)) == plain
    expected = LoggerRow(1, dt.datetime(2020, 9, 1, 5, 0, 30), "2020-09-01 05:00:30", 46.0, 3.0)
    assert replace(rows[0], ambient=3.0) == expected
    with pytest.raises(AttributeError):
        rows[0].temperature = 1.0  # type: ignore[misc]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2020, 1, 3)), max_size=30),
       st.booleans())
def test_interval_of_matches(stamps: List[dt.datetime], ordered: bool) -> None:
    if ordered:
        stamps = sorted(set(stamps))
    assert repr(interval_of(stamps)) == repr(ref_interval_of(stamps))
    assert repr(detect_interval(stamps)) == repr(ref_detect_interval(stamps))


def test_interval_of_even_and_odd_medians() -> None:
    base = dt.datetime(2020, 1, 1)
    for offsets in ([0, 5, 10, 20], [0, 5, 15], [0, 1, 3, 6, 10], [0, 2, 3], [0, 7], [0, 3, 4, 9, 11, 30],
                    [0, 0, 5, 5, 10], [10, 0, 5], [0, 0]):
        stamps = [base + dt.timedelta(minutes=m, seconds=7 * (m % 3)) for m in offsets]
        assert repr(interval_of(stamps)) == repr(ref_interval_of(stamps)), offsets
        assert repr(detect_interval(stamps)) == repr(ref_detect_interval(stamps)), offsets


# --- spikes and slots on generated rows -----------------------------------------------------------------------

NAN = float("nan")
TZ = dt.timezone(dt.timedelta(hours=9))


def generated_rows(seed: int, n: int = 400, aware: bool = False, shuffle: bool = False) -> Tuple[LoggerRow, ...]:
    """Rows every 5 minutes with gaps, bursts, late and early rows, seconds, duplicates, odd temperatures."""
    rnd = random.Random(seed)
    at = dt.datetime(2020, 9, 1, 0, 0) + dt.timedelta(minutes=rnd.choice([0, 0, 5, 7, 23 * 60 + 50]))
    rows: List[LoggerRow] = []
    temp = 45.0
    while len(rows) < n:
        r = rnd.random()
        if r < 0.05:
            at += dt.timedelta(minutes=5 * rnd.randint(2, 12))
        count = rnd.randint(2, 9) if r < 0.08 or 0.5 < r < 0.52 else 1
        for _ in range(count):
            stamp = at + dt.timedelta(minutes=rnd.choice([0] * 8 + [1, 2, 3, -1]) if rnd.random() < 0.1 else 0)
            if rnd.random() < 0.1:
                stamp = stamp.replace(second=rnd.randint(0, 59), microsecond=rnd.choice([0, 0, 1, 999_999]))
            if aware and rnd.random() < 0.5:
                stamp = stamp.replace(tzinfo=rnd.choice([TZ, dt.timezone.utc]))
            temp = min(max(temp + rnd.gauss(0, 0.4), 30.0), 60.0)
            value: Any = round(temp + (rnd.choice([4, 6, 9, 20]) if rnd.random() < 0.04 else 0), 1)
            pick = rnd.random()
            if pick < 0.03:
                value = None
            elif pick < 0.05:
                value = NAN
            elif pick < 0.07:
                value = int(value)
            elif pick < 0.075:
                value = rnd.choice([0.0, -0.0, 0])
            ambient = rnd.choice([None, NAN, 20.0, 21.5, round(20 + rnd.random(), 2)])
            rows.append(LoggerRow(len(rows) + 1, stamp, "", value, ambient))
        at += dt.timedelta(minutes=5)
    if shuffle:
        rnd.shuffle(rows)
    else:                                          # a few out-of-order rowids and duplicated stamps anyway
        for _ in range(3):
            i = rnd.randrange(len(rows) - 1)
            rows[i], rows[i + 1] = rows[i + 1], rows[i]
    return tuple(rows)


SPIKE_PARAMS = [(60, 3.0), (30, 1.0), (120, 0.5), (10, 2.0), (5, 1.0), (0, 1.0), (1440, 4.0), (60, 0.0),
                (60, -1.0), (60, NAN), (60, float("inf")), (-5, 1.0)]


@pytest.mark.parametrize("seed", range(12))
def test_spikes_match_plain_finder(seed: int) -> None:
    for rows in (generated_rows(seed), generated_rows(seed, aware=True), generated_rows(seed, shuffle=True)):
        for window, margin in SPIKE_PARAMS:
            assert repr(spikes(rows, window, margin)) == repr(ref_spikes(rows, window, margin)), (seed, window, margin)


def test_spikes_at_the_very_start_and_end_and_ties() -> None:
    base = dt.datetime(2020, 9, 1)

    def rows_of(temps: Sequence[Optional[float]], ambient: Optional[float] = 20.0) -> Tuple[LoggerRow, ...]:
        return tuple(LoggerRow(i + 1, base + dt.timedelta(minutes=5 * i), "", t, ambient) for i, t in enumerate(temps))

    cases: List[Sequence[Optional[float]]] = [
        [60.0, 45.0, 45.0, 45.0, 45.0],                 # hot first reading: no baseline yet
        [45.0, 45.0, 45.0, 60.0],                       # spike on the last reading
        [45.0, 45.0, 45.0, 60.0, 61.0, 61.0, 60.0],     # spike to the end, first of the equal peaks
        [45.0, 45.0, 45.0, 52.0, 45.0, 45.0, 53.0, 53.0, 45.0],
        [45.0, NAN, 45.0, 45.0, 60.0, NAN, 45.0, 45.0, 45.0, 60.0],
        [NAN, NAN, NAN, 60.0, 45.0],
        [45.0, None, 45.0, None, 45.0, 60.0, None, 61.0],
        [-0.0, 0.0, -0.0, 9.0, -0.0],
        [float("inf"), 45.0, 45.0, float("inf"), 45.0],
        [45.0, 45.0, float("-inf"), 45.0, 50.0],
        [],
        [45.0],
    ]
    for temps in cases:
        for ambient in (20.0, None):
            rows = rows_of(temps, ambient)
            for window, margin in SPIKE_PARAMS:
                assert repr(spikes(rows, window, margin)) == repr(ref_spikes(rows, window, margin)), (temps, window)
    assert len(spikes(rows_of([45.0, 45.0, 45.0, 60.0]), 60, 5.0)) == 1


def test_spikes_with_duplicate_stamps_and_rowids() -> None:
    at = dt.datetime(2020, 9, 1, 12, 0)
    rows = tuple(LoggerRow(rowid, at + dt.timedelta(minutes=5 * (i // 3)), "", temp, None)
                 for i, (rowid, temp) in enumerate([(5, 45.0), (5, 46.0), (4, 44.0), (1, 45.0), (2, 60.0),
                                                    (2, 45.0), (9, 61.0), (8, 45.0), (7, 62.0), (3, 45.0)]))
    for window, margin in SPIKE_PARAMS:
        assert repr(spikes(rows, window, margin)) == repr(ref_spikes(rows, window, margin))


@pytest.mark.parametrize("seed", range(12))
def test_slots_match_plain_walker(seed: int) -> None:
    for rows in (generated_rows(seed, 600), generated_rows(seed, 600, aware=True),
                 generated_rows(seed, 600, shuffle=True)):
        for data_interval in (None, 5):
            data = LoggerData("/db", "t", "timestamp", data_interval, rows)
            for interval in (None, 5, 3, 7, 10, 60, 1440, 2000):
                assert repr(logger_slots.analyze(data, interval)) == repr(ref_slots(data, interval)), (seed, interval)


def test_slots_edge_cases() -> None:
    at = dt.datetime(2020, 9, 1, 0, 0)
    regular = tuple(LoggerRow(i + 1, at + dt.timedelta(minutes=5 * i), "", 45.0) for i in range(600))
    cases = [
        regular,
        regular[:1],
        (),
        regular[:10] + regular[30:40] + tuple(LoggerRow(100 + i, regular[40].stamp, "", 45.0) for i in range(5)),
        tuple(replace(r, stamp=r.stamp + dt.timedelta(minutes=2)) for r in regular[:50]),   # all late
        tuple(replace(r, stamp=r.stamp.replace(second=30)) for r in regular[:50]),
        tuple(reversed(regular[:50])),
        tuple(LoggerRow(i + 1, dt.datetime(9999, 12, 31, 23, 0) + dt.timedelta(minutes=5 * i), "", 45.0)
              for i in range(12)),
        (LoggerRow(1, at, "", 45.0), LoggerRow(2, at.replace(tzinfo=TZ), "", 45.0),
         LoggerRow(3, at.replace(tzinfo=dt.timezone.utc) + dt.timedelta(hours=9), "", 45.0)),
        (LoggerRow(1, at.replace(tzinfo=TZ), "", 45.0), LoggerRow(2, at.replace(tzinfo=dt.timezone.utc), "", 45.0)),
    ]
    for rows in cases:
        for data_interval in (None, 5):
            data = LoggerData("/db", "t", "timestamp", data_interval, rows)
            for interval in (None, 5, 7):
                assert repr(logger_slots.analyze(data, interval)) == repr(ref_slots(data, interval))


def test_reference_sanity() -> None:
    """The generated data really exercises bursts, gaps, drifts, spikes, NaNs and aware stamps."""
    rows = generated_rows(1, 600)
    found = ref_slots(LoggerData("/db", "t", "timestamp", 5, rows))
    assert found is not None and found.bursts and found.gaps and found.drifts
    assert ref_spikes(rows, 60, 3.0)
    assert any(r.temperature is not None and math.isnan(r.temperature) for r in rows)
    assert any(r.stamp.tzinfo is not None for r in generated_rows(1, aware=True))
