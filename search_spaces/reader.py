"""Safe YAML reading that keeps line numbers.

The text goes through PyYAML's ``SafeLoader`` composer only (no Python object tags), and the node tree
is turned into plain values here, recording the line of every value and of every mapping key so that
errors can name them. Two YAML 1.1 surprises are fixed for unquoted scalars: ``1e-6`` is a number (as in
YAML 1.2), and a fraction such as ``10/255`` is the number it denotes. Duplicate keys are an error.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from explorer_core.errors import SpaceError, show

__all__ = ["Document", "DocPath", "read_text", "read_file", "looks_numeric"]

#: A position in the document: mapping keys (str) and sequence indexes (int), from the top.
DocPath = tuple[Any, ...]

_PLAIN_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")
_MAX_DEPTH = 32
_MAX_NODES = 50_000
_EXP_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_FRACTION = re.compile(r"([-+]?\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Document:
    """Plain data read from YAML, plus where each part came from (1-based lines)."""

    data: Any
    source: str
    lines: dict[DocPath, int] = field(default_factory=dict)  # value positions
    key_lines: dict[DocPath, int] = field(default_factory=dict)  # mapping-key positions

    def line(self, path: DocPath, *, key: bool = False) -> int | None:
        """The line of ``path`` (its key with ``key=True``), else of its nearest recorded parent."""
        table = self.key_lines if key else self.lines
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


def looks_numeric(text: str) -> bool:
    """Whether an unquoted scalar with this text would be read as a number (``1e-6``, ``10/255``)."""
    return bool(_EXP_NUMBER.fullmatch(text) or _FRACTION.fullmatch(text))


def _scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and node.style is None:  # plain (unquoted) scalars only
        if _EXP_NUMBER.fullmatch(value):
            return float(value)
        m = _FRACTION.fullmatch(value)
        if m and float(m.group(2)) != 0:
            return float(m.group(1)) / float(m.group(2))
    if isinstance(value, (datetime.date, datetime.datetime)):
        return str(node.value)  # keep dates as the text the user wrote; the schema rejects them
    if isinstance(value, bytes):
        return str(node.value)
    return value  # non-finite floats (.inf, .nan) are rejected by the schema, with the key's name


def read_text(text: str, source: str = "<string>") -> Document:
    """Parse one YAML document from ``text``; raise :class:`SpaceError` naming ``source`` and the line."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as e:
        problem = " ".join(str(e).split())
        raise SpaceError(source, None, "yaml", "invalid YAML", f"well-formed YAML ({problem})") from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = " ".join(p for p in (e.context, e.problem) if p) or "a parse error"
            raise SpaceError(source, line, "yaml", "invalid YAML", f"well-formed YAML ({problem})") from None
        except yaml.YAMLError as e:
            raise SpaceError(source, None, "yaml", "invalid YAML",
                             f"well-formed YAML ({' '.join(str(e).split())})") from None
        if node is None:
            raise SpaceError(source, 1, "space", "an empty document", "a mapping with name, dataset, mechanisms, ...")
        lines: dict[DocPath, int] = {}
        key_lines: dict[DocPath, int] = {}
        count = [0]

        def convert(n: yaml.Node, path: DocPath) -> Any:
            count[0] += 1
            if count[0] > _MAX_NODES or len(path) > _MAX_DEPTH:
                raise SpaceError(source, n.start_mark.line + 1, _dotted(path[:3]) or "space", "a document too large "
                                 "or too deeply nested (aliases?)", f"at most {_MAX_NODES} values nested "
                                 f"{_MAX_DEPTH} deep")
            lines.setdefault(path, n.start_mark.line + 1)
            if isinstance(n, yaml.ScalarNode):
                try:
                    return _scalar(loader, n)
                except (yaml.YAMLError, ValueError, TypeError, OverflowError) as e:
                    problem = getattr(e, "problem", None) or str(e)
                    raise SpaceError(source, n.start_mark.line + 1, _dotted(path) or "value", show(n.value),
                                     f"a plain value ({' '.join(str(problem).split())})") from None
            if not isinstance(n, yaml.ScalarNode) and n.tag not in _PLAIN_TAGS:
                raise SpaceError(source, n.start_mark.line + 1, _dotted(path[:3]) or "space", show(n.tag),
                                 "a plain list or mapping (no YAML tags)")
            if isinstance(n, yaml.SequenceNode):
                return [convert(child, (*path, i)) for i, child in enumerate(n.value)]
            if isinstance(n, yaml.MappingNode):
                out: dict[str, Any] = {}
                for k_node, v_node in n.value:
                    if not isinstance(k_node, yaml.ScalarNode):
                        raise SpaceError(source, k_node.start_mark.line + 1, _dotted(path) or "space",
                                         "a non-scalar key", "string keys")
                    try:
                        key = _scalar(loader, k_node)
                    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
                        key = k_node.value
                    if not isinstance(key, str) or key == "<<":
                        where = _dotted(path) or "space"
                        raise SpaceError(source, k_node.start_mark.line + 1, where, f"the key {show(key)}",
                                         "plain string keys (no merge keys)")
                    if key in out:
                        raise SpaceError(source, k_node.start_mark.line + 1, _dotted((*path, key)),
                                         "a duplicate key", "each key once per mapping")
                    key_lines[(*path, key)] = k_node.start_mark.line + 1
                    out[key] = convert(v_node, (*path, key))
                return out
            raise SpaceError(source, n.start_mark.line + 1, _dotted(path) or "value", "an unknown node",
                             "a scalar, list or mapping")  # pragma: no cover - PyYAML has no other nodes

        data = convert(node, ())
        return Document(data=data, source=source, lines=lines, key_lines=key_lines)
    finally:
        loader.dispose()


def read_file(path: str) -> Document:
    """Read a YAML file; a missing or unreadable file is a :class:`SpaceError` too."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError as e:
        raise SpaceError(str(path), None, "file", "bytes that are not UTF-8",
                         f"a UTF-8 text file ({e.reason})") from None
    except OSError as e:
        raise SpaceError(str(path), None, "file", show(str(path)), f"a readable file ({e.strerror or e})") from None
    return read_text(text, source=str(path))


def _dotted(path: DocPath) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
