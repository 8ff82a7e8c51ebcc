"""Stable, seedable pseudo-randomness: the same inputs give the same values on every run and platform.

Built on BLAKE2b rather than `random`, whose algorithms may change between Python versions.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from types import MappingProxyType
from typing import Generic, TypeVar

T = TypeVar("T")

_BLOCK = struct.Struct(">8Q")
_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_HEX = "0123456789abcdef"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_VARIANT = "89ab"
_TABLES = MappingProxyType(
    {
        alphabet: bytes(ord(alphabet[i % len(alphabet)]) for i in range(256))
        for alphabet in (_URLSAFE, _ALNUM, _HEX)
    }
)


def digest(*parts: object, size: int = 16) -> bytes:
    """A stable hash of `parts` (joined with a separator that cannot appear in `str` of ints/uuids)."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=size).digest()


def stable_int(*parts: object) -> int:
    return int.from_bytes(digest(*parts, size=8), "big")


def digests(*parts: object, size: int = 16) -> Callable[[object], bytes]:
    """`last -> digest(*parts, last)`, hashing `parts` once (for the digests of many numbered items)."""
    prefix = hashlib.blake2b("".join(f"{part}\x1f" for part in parts).encode(), digest_size=size)

    def of(last: object) -> bytes:
        hasher = prefix.copy()
        hasher.update(str(last).encode())
        return hasher.digest()

    return of


def stable_uuid(*parts: object) -> str:
    """A version-4-shaped uuid derived from `parts`."""
    return uuid_text(digest(*parts))


def uuid_text(raw: bytes) -> str:
    """16 bytes as a version-4-shaped uuid, version and variant bits set (by hand: once per seeded item)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[raw[8] >> 4 & 3]}{h[17:20]}-{h[20:32]}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decodes unpadded base64url; raises ValueError on anything else."""
    if _BASE64URL.fullmatch(text) is None or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def stream_values(key: bytes, first_block: int, blocks: int) -> list[int]:
    """The values of `Rand(key)` from position `8 * first_block`, `blocks` blocks of them, in draw order."""
    values: list[int] = []
    for block in range(first_block, first_block + blocks):
        drawn = _BLOCK.unpack(hashlib.blake2b(key + block.to_bytes(4, "big"), digest_size=64).digest())
        values += drawn[::-1]  # `Rand` pops its pool from the end
    return values


class Weighted(Generic[T]):
    """Values with integer weights, prepared once for fast weighted draws."""

    __slots__ = ("bounds", "total", "values")

    def __init__(self, items: Sequence[tuple[T, int]]) -> None:
        self.values = tuple(value for value, _ in items)
        self.bounds = tuple(accumulate(weight for _, weight in items))
        self.total = self.bounds[-1]

    def at(self, value: int) -> T:
        """What `Rand.weighted` returns when it draws `value`."""
        return self.values[bisect_right(self.bounds, value % self.total)]


def chance_bound(probability: float) -> float:
    """`Rand.chance(probability)` is true when it draws a value below this."""
    return probability * (1 << 64)


MAX_DRAWS = 8 * (2**32 - 1)
"""Values in one `Rand` stream: block numbers are 4 bytes."""


class Rand:
    """A stream of 64-bit values: BLAKE2b of (key, block number), eight values per block."""

    __slots__ = ("_block", "_key", "_pool")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._block = 0
        self._pool: list[int] = []

    @classmethod
    def of(cls, *parts: object) -> Rand:
        return cls(digest(*parts))

    @property
    def position(self) -> tuple[bytes, int, int]:
        return self._key, self._block, len(self._pool)

    @property
    def drawn(self) -> int:
        """How many values were drawn so far (restores the stream with `skip_to`)."""
        return self._block * 8 - len(self._pool)

    def skip_to(self, drawn: int) -> None:
        """Continue as if `drawn` values had been drawn since the stream was created."""
        if not 0 <= drawn <= MAX_DRAWS:
            raise ValueError(f"a stream holds 0 to {MAX_DRAWS} values")
        self._block, remainder = divmod(drawn, 8)
        self._pool = []
        for _ in range(remainder):
            self.next()

    # Each method draws inline (`pool.pop() if pool else self._refill()`): seeding draws millions of values.

    def _refill(self) -> int:
        """Fills the empty pool with the next block and draws from it."""
        block = hashlib.blake2b(self._key + self._block.to_bytes(4, "big"), digest_size=64).digest()
        self._block += 1
        pool = self._pool
        pool.extend(_BLOCK.unpack(block))
        return pool.pop()

    def next(self) -> int:
        pool = self._pool
        return pool.pop() if pool else self._refill()

    def below(self, n: int) -> int:
        if n <= 0:
            return 0
        pool = self._pool
        return (pool.pop() if pool else self._refill()) % n

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + self.below(high - low + 1)

    def chance(self, probability: float) -> bool:
        pool = self._pool
        return (pool.pop() if pool else self._refill()) < probability * (1 << 64)  # as `chance_bound`

    def choice(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]

    def weighted(self, items: Weighted[T] | Sequence[tuple[T, int]]) -> T:
        table = items if isinstance(items, Weighted) else Weighted(items)
        pool = self._pool
        return table.values[
            bisect_right(table.bounds, (pool.pop() if pool else self._refill()) % table.total)
        ]

    def text(self, length: int, alphabet: str = _URLSAFE) -> str:
        """`length` characters of `alphabet`, expanded with SHAKE-256 from one draw (fast for long tokens)."""
        pool = self._pool
        draw = pool.pop() if pool else self._refill()
        raw = hashlib.shake_256(draw.to_bytes(8, "big")).digest(length)
        return raw.translate(_TABLES[alphabet]).decode("ascii")

    def alnum(self, length: int) -> str:
        return self.text(length, _ALNUM)

    def hex(self, length: int) -> str:
        return self.text(length, _HEX)
