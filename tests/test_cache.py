"""``search.cache.CostAwareCache``: bounded in bytes, keeps what is dear per byte, else LRU."""

from __future__ import annotations

import random
import threading

import pytest

from search.whoosh.cache import CostAwareCache


def test_bytes_stay_within_the_bound() -> None:
    rng = random.Random(5)
    cache = CostAwareCache(10_000)
    stored: dict[int, int] = {}
    for key in range(3_000):
        if rng.random() < 0.3 and stored:
            cache.get(rng.choice(list(stored)))
        size = rng.randint(1, 3_000)
        cache.put(key, f"value {key}", size, rng.random() / 100)
        stored[key] = size
        assert cache.bytes <= 10_000 or len(cache) == 1
        assert cache.bytes == sum(stored[k] for k in stored if k in cache)
    for key in stored:
        value = cache.get(key)
        assert value is None or value == f"value {key}"


def test_a_dear_small_entry_outlasts_cheap_large_ones() -> None:
    """3 µs per byte against 0.4: the phrase outlasts five turnovers of the cheap entries
    (an LRU would drop it in the first), while the cheap ones churn."""
    cache = CostAwareCache(1_000_000)
    cache.put("phrase", "p", 100_000, cost=0.300)
    for key in range(100):  # 50 kB and 20 ms each: five times the budget
        cache.put(key, key, 50_000, cost=0.020)
    assert "phrase" in cache
    assert 0 not in cache and 99 in cache
    assert cache.bytes <= 1_000_000


def test_equal_cost_per_byte_is_least_recently_used() -> None:
    cache = CostAwareCache(300)
    for key in "abc":
        cache.put(key, key, 100, cost=0.001)
    assert cache.get("a") == "a"  # b is now the least recently used
    cache.put("d", "d", 100, cost=0.001)
    assert [key in cache for key in "abcd"] == [True, False, True, True]


def test_a_dear_entry_left_unused_is_evicted_in_the_end() -> None:
    cache = CostAwareCache(1_000)
    cache.put("old", "old", 100, cost=0.010)  # ten times the others' cost per byte
    evicted_after = None
    for key in range(1_000):
        cache.put(key, key, 100, cost=0.001)
        if "old" not in cache:
            evicted_after = key
            break
    assert evicted_after is not None and evicted_after > 10


def test_hits_keep_a_cheap_entry() -> None:
    cache = CostAwareCache(1_000)
    cache.put("used", "used", 100, cost=0.001)
    for key in range(100):
        cache.get("used")
        cache.put(key, key, 100, cost=0.001)
    assert "used" in cache


def test_the_first_value_of_a_key_stays_and_an_oversized_one_alone_is_kept() -> None:
    cache = CostAwareCache(100)
    cache.put("k", "first", 10, cost=0.01)
    cache.put("k", "second", 10, cost=0.01)
    assert cache.get("k") == "first" and cache.bytes == 10
    cache.put("huge", "huge", 1_000, cost=1.0)
    assert len(cache) == 1 and cache.get("huge") == "huge"
    with pytest.raises(ValueError, match="max_bytes"):
        CostAwareCache(-1)


def test_threads_share_it_safely() -> None:
    cache = CostAwareCache(50_000)
    failures: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(2_000):
                key = rng.randrange(500)
                if cache.get(key) is None:
                    cache.put(key, key * 2, rng.randint(10, 1_000), rng.random() / 1_000)
                value = cache.get(key)
                assert value is None or value == key * 2
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert cache.bytes <= 50_000 or len(cache) == 1
