"""A tiny document model (headings, text, tables, images) rendered as Markdown or self-contained HTML."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Block", "Heading", "Image", "Items", "Table", "Text", "to_html", "to_markdown"]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Items:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    max_rows: int = 60
    index: bool = False


@dataclass(frozen=True)
class Image:
    path: Path
    caption: str


Block = Heading | Text | Items | Table | Image


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def _rows(table: Table) -> tuple[list[str], list[list[str]], str]:
    frame = table.frame.reset_index() if table.index else table.frame
    shown = frame.head(table.max_rows)
    note = f"(first {table.max_rows} of {len(frame)} rows)" if len(frame) > table.max_rows else ""
    return [str(c) for c in shown.columns], [[_cell(v) for v in row] for row in shown.itertuples(index=False)], note


def to_markdown(blocks: list[Block]) -> str:
    """Markdown with images referenced by file name (they sit beside report.md)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}\n")
        elif isinstance(block, Text):
            out.append(block.text + "\n")
        elif isinstance(block, Items):
            out.append("\n".join(f"- {item}" for item in block.items) + "\n")
        elif isinstance(block, Table):
            out.append(_markdown_table(block))
        elif isinstance(block, Image):
            out.append(f"![{block.caption}]({block.path.name})\n")
    return "\n".join(out)


def _markdown_table(table: Table) -> str:
    header, rows, note = _rows(table)
    if not header:
        return "(empty table)\n"
    esc = lambda s: s.replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + ("\n\n" + note if note else "") + "\n"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin:0.5em 0}th,td{border:1px solid #ccc;padding:3px 6px}"
    "th{background:#f2f2f2}img{max-width:100%;border:1px solid #eee}figure{margin:1em 0}"
    "figcaption{font-size:13px;color:#555}td.conflict{background:#f6c6c5}td.no-conflict{background:#cdebcd}"
    "td.inconclusive{background:#fbe3bf}td.no-data{background:#e4e4e4}"
)


def to_html(blocks: list[Block], title: str) -> str:
    """One HTML file with every image embedded as a base64 data URI."""
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Text):
            out.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Items):
            out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            out.append(_html_table(block))
        elif isinstance(block, Image):
            data = base64.b64encode(block.path.read_bytes()).decode("ascii")
            caption = html.escape(block.caption)
            out.append(
                f"<figure><img alt='{caption}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{caption}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out)


def _html_table(table: Table) -> str:
    header, rows, note = _rows(table)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" + (
        f"<p>{html.escape(note)}</p>" if note else ""
    )


def _html_cell(text: str) -> str:
    verdict = text.split(":")[0].split(" (")[0]
    css = verdict.replace(" ", "-") if verdict in ("conflict", "no conflict", "inconclusive", "no data") else ""
    return f"<td class='{css}'>{html.escape(text)}</td>" if css else f"<td>{html.escape(text)}</td>"
