"""Fractional, lexicographic ranks: the order of cards inside a board column.

A rank is a short string over base-62 digits that sorts (byte-wise, COLLATE "C") where
the card sits, so moving a card writes one row: its new rank lies between its new
neighbours'. This is the "fractional indexing" scheme (an integer part whose first
character says its length, then a fraction): appending after the last card increments
the integer part, so ranks stay short however many cards are appended; only repeated
insertions at one spot lengthen the fraction (one character per ~6 halvings).

https://observablehq.com/@dgreensp/implementing-fractional-indexing"""

import re

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE = len(DIGITS)
_SMALLEST_INTEGER = "A" + "0" * 26
FIRST = "a0"
MAX_LENGTH = 64
RANK_RE = re.compile(r"^[a-zA-Z][0-9A-Za-z]*$")


class RankError(ValueError):
    pass


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise RankError(f"invalid rank head {head!r}")


def _integer_part(key: str) -> str:
    length = _integer_length(key[0])
    if length > len(key):
        raise RankError(f"invalid rank {key!r}")
    return key[:length]


def rank_valid(key: str) -> bool:
    """Whether `key` is a well-formed rank (what the API accepts)."""
    if not key or len(key) > MAX_LENGTH or not RANK_RE.match(key):
        return False
    try:
        integer = _integer_part(key)
    except RankError:
        return False
    return key != _SMALLEST_INTEGER and not key[len(integer) :].endswith("0")


def _midpoint(a: str, b: str | None) -> str:
    """A fraction strictly between fractions `a` and `b` (None: no upper bound)."""
    if b is not None and a >= b:
        raise RankError(f"{a!r} is not below {b!r}")
    if (a and a[-1] == "0") or (b and b[-1] == "0"):
        raise RankError("trailing zero")
    if b is not None:
        n = 0
        while n < len(b) and (a[n] if n < len(a) else "0") == b[n]:
            n += 1
        if n > 0:
            return b[:n] + _midpoint(a[n:], b[n:])
    digit_a = DIGITS.index(a[0]) if a else 0
    digit_b = DIGITS.index(b[0]) if b is not None else _BASE
    if digit_b - digit_a > 1:
        return DIGITS[(digit_a + digit_b + 1) // 2]
    if b is not None and len(b) > 1:
        return b[:1]
    return DIGITS[digit_a] + _midpoint(a[1:], None)


def _increment(integer: str) -> str | None:
    head, digits = integer[0], list(integer[1:])
    for index in range(len(digits) - 1, -1, -1):
        value = DIGITS.index(digits[index]) + 1
        if value == _BASE:
            digits[index] = "0"
            continue
        digits[index] = DIGITS[value]
        return head + "".join(digits)
    if head == "Z":
        return "a0"
    if head == "z":
        return None
    new_head = chr(ord(head) + 1)
    if new_head > "a":
        digits.append("0")
    else:
        digits.pop()
    return new_head + "".join(digits)


def _decrement(integer: str) -> str | None:
    head, digits = integer[0], list(integer[1:])
    for index in range(len(digits) - 1, -1, -1):
        value = DIGITS.index(digits[index]) - 1
        if value == -1:
            digits[index] = DIGITS[-1]
            continue
        digits[index] = DIGITS[value]
        return head + "".join(digits)
    if head == "a":
        return "Z" + DIGITS[-1]
    if head == "A":
        return None
    new_head = chr(ord(head) - 1)
    if new_head < "Z":
        digits.append(DIGITS[-1])
    else:
        digits.pop()
    return new_head + "".join(digits)


def rank_between(a: str | None, b: str | None) -> str:
    """A rank strictly between `a` and `b` (None: no bound on that side)."""
    if a is not None and b is not None and a >= b:
        raise RankError(f"{a!r} is not below {b!r}")
    if a is None and b is None:
        return FIRST
    if a is None:
        integer = _integer_part(b)
        fraction = b[len(integer) :]
        if integer == _SMALLEST_INTEGER:
            return integer + _midpoint("", fraction)
        if integer < b:
            return integer
        lower = _decrement(integer)
        if lower is None:
            raise RankError("cannot go below the smallest rank")
        return lower
    if b is None:
        integer = _integer_part(a)
        fraction = a[len(integer) :]
        higher = _increment(integer)
        return integer + _midpoint(fraction, None) if higher is None else higher
    integer_a = _integer_part(a)
    fraction_a = a[len(integer_a) :]
    integer_b = _integer_part(b)
    fraction_b = b[len(integer_b) :]
    if integer_a == integer_b:
        return integer_a + _midpoint(fraction_a, fraction_b)
    higher = _increment(integer_a)
    if higher is not None and higher < b:
        return higher
    return integer_a + _midpoint(fraction_a, None)


def rank_for_number(number: int) -> str:
    """The rank existing tasks got when ranks were introduced: their numbers, in order
    ('j' + ten decimal digits; decimal digits sort the same in base 62)."""
    return "j" + str(number).zfill(10)
