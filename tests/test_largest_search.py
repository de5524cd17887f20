"""The search under sigact.jax.largest, on memory curves given as plain functions of n: the answer of
trying every n, a handful of probes where memory is linear in n, and within its bound where it is not.
(tests/test_jax_plan.py runs largest itself against a brute-force scan of compiled programs.)"""

import math

import pytest

pytest.importorskip("jax")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st_  # noqa: E402

from sigact.jax._largest import search  # noqa: E402


def every_n(used, budget, lo, hi):
    """The answer by trying n = lo, lo + 1, ... until one does not fit."""
    best, n = None, lo
    while (hi is None or n <= hi) and used(n) <= budget:
        best, n = n, n + 1
    return best


def doubling_then_bisection(used, budget, lo, hi):
    """The sizes plain doubling from lo, then bisection, would probe: what the search is measured against."""
    probes, good, bad = [lo], lo, None
    if used(lo) > budget:
        return probes
    while bad is None and good != hi:
        n = good * 2 if hi is None else min(good * 2, hi)
        probes.append(n)
        good, bad = (n, None) if used(n) <= budget else (good, n)
    while bad is not None and bad - good > 1:
        probes.append((good + bad) // 2)
        good, bad = (probes[-1], bad) if used(probes[-1]) <= budget else (good, probes[-1])
    return probes


def check(used, budget, lo, hi):
    found, probes = search(used, budget, lo, hi)
    assert found == every_n(used, budget, lo, hi)
    assert probes[0] == lo and len(set(probes)) == len(probes) and all(hi is None or n <= hi for n in probes)
    # The docstring's bound: each safe step (a doubling, then a halving) follows at most one guess, and a
    # guess reaches at most 16 times the largest size known to fit: a few halvings more.
    assert len(probes) <= 2 * len(doubling_then_bisection(used, budget, lo, hi)) + 11, probes
    return probes


@st_.composite
def curves(draw):
    """A non-decreasing memory curve: steps drawn one by one up to n = len(steps), linear past it; or
    a power of n, concave to cubic."""
    if draw(st_.booleans()):
        power, scale = draw(st_.sampled_from([0.5, 1, 1.5, 2, 3])), draw(st_.integers(1, 10**6))
        base = draw(st_.integers(0, 10**9))

        def power_of_n(n):
            return base + int(scale * n**power)

        budget = power_of_n(draw(st_.integers(1, 3000))) + draw(st_.integers(-1, 1))  # at, under, over a size
        return power_of_n, budget, draw(st_.integers(1, 64)), None
    steps = draw(st_.lists(st_.integers(0, 1000), min_size=1, max_size=200))
    base, tail = draw(st_.integers(0, 10**4)), draw(st_.integers(1, 1000))
    prefix = [0]
    for step in steps:
        prefix.append(prefix[-1] + step)

    def used(n):
        return base + prefix[min(n, len(steps))] + max(0, n - len(steps)) * tail

    budget = draw(st_.integers(0, used(len(steps)) + 50 * tail))
    lo = draw(st_.integers(1, len(steps)))
    return used, budget, lo, draw(st_.none() | st_.integers(lo, len(steps) + 60))


@settings(max_examples=500, deadline=None)
@given(curves())
def test_the_search_finds_what_trying_every_n_finds_within_twice_the_probes_of_bisection(curve):
    check(*curve)


def test_a_line_that_misses_by_far_costs_a_few_halvings():
    # Flat to n = 2, then n^4: the line through n = 1 and 2 crosses the budget near n = 10^10, the answer
    # is 10, and each line through the bracket's ends guesses barely past its lower end. Without the 16x
    # reach the search took 21 probes, halving from 10^10; doubling and bisection alone take 8.
    probes = check(lambda n: n if n <= 2 else 10**6 * n**4, 10**10, 1, None)
    assert len(probes) <= 8, probes


@pytest.mark.parametrize("base, per_n, budget, lo", [
    (1000, 256, 64 * 1024, 1),        # the docstring's: 252
    (0, 1, 10, 1),
    (5 << 20, 3 << 20, 2 << 30, 4),   # a batch of 3 MiB a row over 5 MiB of weights, within 2 GiB: 681
    (64, 836, 10**5, 8),
    (0, 7, 100, 13),                  # the answer, 14, below 2 * lo
    (100, 3, 3 * 10**6 + 100, 1),     # 10^6: doubling then bisection would take 40
])
def test_linear_memory_takes_five_probes_within_32_lo_and_two_more_per_32_fold(base, per_n, budget, lo):
    probes = check(lambda n: base + per_n * n, budget, lo, None)
    found = (budget - base) // per_n
    assert len(probes) <= 5 + 2 * max(0, math.ceil(math.log(found / (32 * lo), 32))), probes


def test_nothing_fits_a_budget_below_lo_and_hi_bounds_every_probe():
    assert search(lambda n: 10 * n, 5, 1, None) == (None, [1])
    assert max(check(lambda n: n, 10**9, 3, 100)) == 100


def test_memory_that_does_not_grow_is_an_error_naming_the_candidate():
    with pytest.raises(ValueError, match="swap fits the budget at n=1099511627776: its memory does not seem"):
        search(lambda n: 7, 100, 1, None, name="swap")
