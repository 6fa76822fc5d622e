"""The trial knobs a space may set, read from the config sections (shared ones and each mechanism spec's), so
that the two never drift apart."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any

from explorer_core import registry, views
from explorer_core.config import COMMON_SECTIONS

__all__ = ["Knob", "KNOBS", "SECTION_CLASSES", "YAML_SECTIONS", "FIXED_ONLY", "yaml_key", "knob_mechanism"]

SECTION_CLASSES: views.Dict[str, type] = views.Dict(
    lambda: {**COMMON_SECTIONS, **{n: s.config_cls for n, s in registry.specs().items()}})
#: Config prefix -> the YAML section that holds its knobs (``train.*`` are written under ``training:``).
YAML_SECTIONS: views.Dict[str, str] = views.Dict(
    lambda: {p: ("training" if p == "train" else p) for p in SECTION_CLASSES})
#: Knobs that take one fixed value (no domains): data paths and subsets, the device, file paths.
FIXED_ONLY: views.FrozenSet[str] = views.FrozenSet(lambda: frozenset(
    {"data.dir", "data.train_subset", "data.test_subset", "train.device"}).union(
    *(s.fixed_only for s in registry.specs().values())))


@dataclass(frozen=True)
class Knob:
    """One dotted trial key with its base type (int, float, bool or str), nullability and default."""

    key: str
    section: str
    name: str
    type: str
    nullable: bool
    default: Any

    @property
    def yaml_key(self) -> str:
        return f"{YAML_SECTIONS[self.section]}.{self.name}"


def _base_type(annotation: Any) -> tuple[str, bool]:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = [p.strip() for p in text.split("|")]
    nullable = "None" in parts
    base = [p for p in parts if p != "None"]
    return (base[0] if len(base) == 1 else "str"), nullable


def _build() -> dict[str, Knob]:
    out: dict[str, Knob] = {}
    for section, cls in SECTION_CLASSES.items():
        for f in fields(cls):
            base, nullable = _base_type(f.type)
            default = f.default if f.default is not MISSING else None
            out[f"{section}.{f.name}"] = Knob(f"{section}.{f.name}", section, f.name, base, nullable, default)
    return out


KNOBS: views.Dict[str, Knob] = views.Dict(_build)


def yaml_key(config_key: str) -> str:
    """``train.lr`` -> ``training.lr``; other keys are written as they are."""
    head, _, rest = config_key.partition(".")
    return f"{YAML_SECTIONS.get(head, head)}.{rest}" if rest else config_key


def knob_mechanism(config_key: str) -> str | None:
    """The mechanism a knob belongs to, or None for the shared ``data``/``train``/``eval`` knobs."""
    head = config_key.partition(".")[0]
    return head if head in registry.specs() else None
