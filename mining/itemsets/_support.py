"""The support threshold: ``min_support`` as a fraction of baskets or as a basket count.

mlxtend keeps an itemset when ``count / N >= min_support`` (a float64 comparison, in both
``apriori`` and ``fpgrowth``). The threshold here is the smallest count that passes that very
comparison, so borderline counts (``s * N`` an integer up to rounding) agree with mlxtend.
"""

from __future__ import annotations

import math

from mining.errors import InputError

__all__ = ["check_max_size", "check_min_support", "count_threshold"]


def check_min_support(min_support: float) -> int | None:
    """Validate ``min_support``; the basket count it gives, or ``None`` for a fraction.

    Raises
    ------
    InputError
        Not a number, NaN, <= 0, exactly 1, or a non-integer >= 1 (one line).
    """
    bad = isinstance(min_support, bool) or not isinstance(min_support, int | float)
    if bad or math.isnan(min_support) or min_support <= 0:
        raise InputError(
            f"min_support must be a fraction in (0, 1) or a basket count >= 2, got {min_support!r}"
        )
    if min_support < 1:
        return None
    if min_support == 1 or not float(min_support).is_integer() or math.isinf(min_support):
        raise InputError(
            f"min_support {min_support!r} is ambiguous or not a count: give a fraction in (0, 1) "
            "or an integer basket count >= 2"
        )
    return int(min_support)


def count_threshold(min_support: float, n_baskets: int) -> int:
    """The minimum support count for ``min_support`` over ``n_baskets`` baskets (MMDS §6.1.1).

    A fraction ``s`` gives the smallest ``c`` with ``c / N >= s`` (mlxtend's comparison, which
    is ``ceil(s * N)`` up to float rounding); a count is itself.

    Raises
    ------
    InputError
        Invalid ``min_support`` (see :func:`check_min_support`), or a threshold below 2 baskets
        (every itemset of a single basket would be frequent).
    """
    count = check_min_support(min_support)
    if count is None:
        s = float(min_support)
        count = max(math.ceil(s * n_baskets), 0)
        while count > 0 and (count - 1) / max(n_baskets, 1) >= s:
            count -= 1
        while n_baskets > 0 and count / n_baskets < s:
            count += 1
    if count < 2:
        raise InputError(
            f"min_support {min_support!r} of {n_baskets} baskets is a count of {count}, "
            "below 2 baskets"
        )
    return count


def check_max_size(max_size: int | None) -> int:
    """Validate ``max_size`` (an integer >= 1 or ``None``); the size limit it gives.

    Raises
    ------
    InputError
        A bool, a non-integer or a value below 1 (one line).
    """
    if max_size is None:
        return 2**31 - 1
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise InputError(f"max_size must be an integer >= 1 or None, got {max_size!r}")
    return max_size
