"""Views of the registry computed on demand: a module states ``METRICS = views.Tuple(lambda: ...)`` and every read
(``x in METRICS``, iterating, ``len``, indexing, comparing) sees the specs in use now, also after
:func:`explorer_core.registry.reload` (a plug-in installed or removed). Nothing is read from the registry when a
module is imported; a view recomputes once per registry generation, not on every read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from typing import Generic, TypeVar, overload

from explorer_core import registry

__all__ = ["Tuple", "FrozenSet", "Dict"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
C = TypeVar("C")


class _View(Generic[C]):
    __slots__ = ("_compute", "_generation", "_value")

    def __init__(self, compute: Callable[[], C]) -> None:
        self._compute = compute
        self._generation = -1
        self._value: C | None = None

    def _get(self) -> C:
        generation = registry.generation()
        if self._generation != generation:
            self._value, self._generation = self._compute(), generation
        return self._value  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._get()!r})"


class Tuple(_View[tuple[T, ...]], Sequence[T]):
    """A tuple of the registry's current state."""

    __slots__ = ()

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[T]:
        return iter(self._get())

    def __contains__(self, item: object) -> bool:
        return item in self._get()

    def __eq__(self, other: object) -> bool:
        return self._get() == (tuple(other) if isinstance(other, (Tuple, list)) else other)

    def __hash__(self) -> int:
        return hash(self._get())

    def __add__(self, other: tuple[T, ...]) -> tuple[T, ...]:
        return self._get() + tuple(other)

    def __radd__(self, other: tuple[T, ...]) -> tuple[T, ...]:
        return tuple(other) + self._get()


class FrozenSet(_View[frozenset[T]], Set[T]):
    """A frozenset of the registry's current state."""

    __slots__ = ()

    def __contains__(self, item: object) -> bool:
        return item in self._get()

    def __iter__(self) -> Iterator[T]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __hash__(self) -> int:
        return hash(self._get())

    @classmethod
    def _from_iterable(cls, it: Iterable[T]) -> frozenset[T]:  # type: ignore[override]
        return frozenset(it)  # what Set's operators (|, &, -) build: a plain frozenset


class Dict(_View[dict[K, V]], Mapping[K, V]):
    """A read-only dict of the registry's current state."""

    __slots__ = ()

    def __getitem__(self, key: K) -> V:
        return self._get()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __contains__(self, key: object) -> bool:
        return key in self._get()

    def __eq__(self, other: object) -> bool:
        return self._get() == (dict(other) if isinstance(other, Mapping) else other)

    __hash__ = None  # type: ignore[assignment]
