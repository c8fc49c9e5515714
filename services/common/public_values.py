"""Public random values a draw mixes into its seed, and their formats.

One place for the rule, used by talent (the reveal, the verifier) and by the
consultation workflow (staff entering the value once it is public), so both refuse
the same malformed values.
"""

from __future__ import annotations

import re

#: RFC 3797: each source's numbers ascending, each followed by ".", each source closed by "/"
LOTTERY_VALUE = re.compile(r"^(?:(?:0|[1-9][0-9]{0,8})\.)+/(?:(?:(?:0|[1-9][0-9]{0,8})\.)+/)*$")
#: a randomness beacon's round value (drand: 32 bytes), lower-case hex
BEACON_VALUE = re.compile(r"^[0-9a-f]{64}$")
PUBLIC_VALUE_FORMATS = ("lottery", "beacon")


def public_value_problem(value: str, fmt: str) -> str | None:
    """Why ``value`` is not a well-formed public value of format ``fmt`` (None: it is).

    ``lottery``: numbers written per RFC 3797 (``format_rfc3797``); ``beacon``: a
    randomness beacon round's value, 64 lower-case hex digits."""
    if fmt == "beacon":
        return None if BEACON_VALUE.match(value) else "a beacon value is 64 lower-case hex digits"
    if fmt != "lottery":
        return f"unknown format {fmt!r}"
    if not LOTTERY_VALUE.match(value):
        return 'a lottery value is written per RFC 3797, e.g. "3.8.12.17.29.41./5./"'
    for source in value.split("/")[:-1]:
        numbers = [int(n) for n in source.split(".")[:-1]]
        if numbers != sorted(numbers):
            return "RFC 3797: each source's numbers in ascending order"
    return None
