"""IN lists come in a few sizes (store/inlist.py), so a set-based read prepares few
statement texts however many chunks of however many codes pass."""

from __future__ import annotations

from termserver.store import inlist


def test_sizes_are_few_and_cover_the_list() -> None:
    sizes = {inlist.size(n) for n in range(1, 4001)}
    assert len(sizes) == 13  # 1, 2, 4, …, 4096: every bulk chunk (4,000 lines at most)
    for n in (1, 2, 3, 5, 100, 4096, 4097, 9000):
        padded = inlist.padded(list(range(n)))
        assert len(padded) == inlist.size(n) >= n
        assert padded[:n] == list(range(n)) and set(padded) == set(range(n))
    assert inlist.size(4097) == inlist.size(8192) == 8192

