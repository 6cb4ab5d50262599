import random

from hypothesis import given
from hypothesis import strategies as st

from notifier.channels.base import retry_delay

attempts = st.integers(min_value=1, max_value=40)
bases = st.floats(min_value=0.01, max_value=60)
caps = st.floats(min_value=0.01, max_value=3600)
seeds = st.integers(min_value=0, max_value=2**32)


@given(attempt=attempts, base=bases, cap=caps, seed=seeds)
def test_full_jitter_stays_within_the_exponential_ceiling(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    delay = retry_delay(
        attempt=attempt, base_seconds=base, cap_seconds=cap, rng=random.Random(seed)
    )

    assert 0 <= delay <= min(cap, base * 2 ** (attempt - 1))


@given(attempt=attempts, base=bases, cap=caps, retry_after=st.floats(0, 7200), seed=seeds)
def test_retry_after_is_a_floor_but_never_beyond_the_cap(
    attempt: int, base: float, cap: float, retry_after: float, seed: int
) -> None:
    delay = retry_delay(
        attempt=attempt,
        base_seconds=base,
        cap_seconds=cap,
        retry_after_seconds=retry_after,
        rng=random.Random(seed),
    )

    assert min(retry_after, cap) <= delay <= max(min(retry_after, cap), cap)
    assert delay <= cap


def test_the_jitter_spreads_over_the_whole_window() -> None:
    rng = random.Random(7)
    delays = [retry_delay(attempt=4, base_seconds=1, cap_seconds=300, rng=rng) for _ in range(2000)]

    assert min(delays) < 0.5
    assert max(delays) > 7.5
    assert max(delays) <= 8
