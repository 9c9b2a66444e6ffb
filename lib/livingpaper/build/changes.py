"""What changed since the previous build of the same OUT.

Re-executing the book on new data is its main use; a reader must see at a glance what the
new data did to the conclusions. :func:`compare` lists every value of ``results.json``
that differs from the previous build's, old and new side by side, and flags the changes
that matter most: a p-value that crossed 0.05, a section that became (or stopped being)
estimable.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from livingpaper.parameters import ALPHA


@dataclass(frozen=True)
class Change:
    """One value of results.json that differs between two builds (``None`` = absent)."""

    key: str  # dotted path, e.g. "sections.severe.p"
    old: Any
    new: Any
    note: str  # what the change means, "" when nothing to add

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists -> ``{"a.b[0].c": value}`` (scalars only), in document order."""
    if isinstance(document, dict):
        items = [(f"{prefix}.{k}" if prefix else str(k), v) for k, v in document.items()]
    elif isinstance(document, list):
        items = [(f"{prefix}[{i}]", v) for i, v in enumerate(document)]
    else:
        return {prefix: document}
    flat: dict[str, Any] = {}
    for key, value in items:
        if isinstance(value, (dict, list)):
            flat.update(flatten(value, key))  # an empty container adds nothing
        else:
            flat[key] = value
    return flat


def _note(key: str, old: Any, new: Any) -> str:
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "estimable" and old is not None and new is not None:
        return "became estimable" if new else "became not estimable"
    is_p = leaf == "p" or leaf.endswith("_p")
    if is_p and isinstance(old, (int, float)) and isinstance(new, (int, float)):
        if old >= ALPHA > new:
            return f"crossed {ALPHA}: now significant"
        if new >= ALPHA > old:
            return f"crossed {ALPHA}: no longer significant"
    if old is None and new is not None:
        return "new"
    if new is None and old is not None:
        return "gone"
    return ""


def compare(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[Change]:
    """Every value that differs between two results documents (none when ``previous`` is None)."""
    if previous is None:
        return []
    old, new = flatten(previous), flatten(current)
    keys = list(new) + [k for k in old if k not in new]
    return [Change(k, old.get(k), new.get(k), _note(k, old.get(k), new.get(k)))
            for k in keys if old.get(k) != new.get(k)]


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)


def summary(changes: list[Change], limit: int = 20) -> list[str]:
    """Lines to print at the end of a build: the flagged changes first."""
    if not changes:
        return ["No number changed since the previous build of this folder."]
    ordered = sorted(changes, key=lambda c: c.note == "")  # flagged first, order kept
    lines = [f"{len(changes)} value(s) changed since the previous build of this folder:"]
    for c in ordered[:limit]:
        lines.append(f"  {c.key}: {_short(c.old)} -> {_short(c.new)}" + (f"  ({c.note})" if c.note else ""))
    if len(changes) > limit:
        lines.append(f"  ... and {len(changes) - limit} more (see changes.json)")
    return lines
