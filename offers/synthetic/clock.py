"""When the synthetic shop's orders happen: a Q4 peak, Black Friday, weekly and daily patterns."""

from dataclasses import dataclass

import numpy as np

from offers.synthetic.world import N_DAYS, START

_MONTH_VOLUME = (0.8, 0.75, 0.9, 0.95, 1.0, 1.0, 0.95, 0.95, 1.0, 1.1, 1.45, 1.75)
_WEEKDAY_VOLUME = (1.05, 1.0, 1.0, 1.0, 0.95, 0.85, 1.15)  # Monday first
_HOUR_VOLUME = (
    0.3,
    0.2,
    0.15,
    0.12,
    0.12,
    0.18,
    0.35,
    0.6,
    0.85,
    1.0,
    1.05,
    1.1,
    1.15,
    1.1,
    1.05,
    1.05,
    1.1,
    1.2,
    1.35,
    1.5,
    1.55,
    1.4,
    1.0,
    0.6,
)
BLACK_FRIDAY_DAYS = (27, 31)  # 2025-11-28 to 2025-12-01 (Cyber Monday), days since the start


@dataclass(frozen=True)
class Clock:
    """Order intensity over the year (season, Black Friday, weekday, hour of day).

    Times are days since the start; the year repeats before and after it.
    Operational time runs at one expected order per day of a steady customer:
    gaps drawn in it come out seasonal in real time.
    """

    hours: np.ndarray  # (n_hours + 1,) hour boundaries
    cum: np.ndarray  # (n_hours + 1,) operational days at each boundary, ends at N_DAYS
    month: np.ndarray  # (N_DAYS,) calendar month of each day, 0 = January
    hour_share: np.ndarray  # (24,)

    def to_op(self, days: np.ndarray) -> np.ndarray:
        years, day = np.divmod(days, N_DAYS)
        return years * N_DAYS + np.interp(day * 24.0, self.hours, self.cum)

    def from_op(self, op_days: np.ndarray) -> np.ndarray:
        years, op = np.divmod(op_days, N_DAYS)
        return years * N_DAYS + np.interp(op, self.cum, self.hours) / 24.0

    def month_of(self, days: np.ndarray) -> np.ndarray:
        return self.month[np.floor(days).astype(np.int64) % N_DAYS]

    def time_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return (rng.choice(24, n, p=self.hour_share) + rng.random(n)) / 24.0


def build_clock() -> Clock:
    days = START.astype("datetime64[D]") + np.arange(N_DAYS)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    day_volume = np.array(_MONTH_VOLUME)[month] * np.array(_WEEKDAY_VOLUME)[weekday]
    day_volume[slice(*BLACK_FRIDAY_DAYS)] *= 2.5
    hour_share = np.array(_HOUR_VOLUME) / sum(_HOUR_VOLUME)
    cum = np.concatenate([[0.0], np.cumsum(np.outer(day_volume, hour_share).ravel())])
    return Clock(np.arange(len(cum), dtype=float), cum * N_DAYS / cum[-1], month, hour_share)
