"""The build's records on the page: provenance, packages, what changed since the last build."""
from __future__ import annotations

from typing import Any

import pandas as pd

from livingpaper.formatting import format_cells
from livingpaper.present.markdown import MAX_LISTED, code, escape, markdown_table, more

KEY_PACKAGES = ("livingpaper", "jupyter-book", "myst-nb", "sphinx", "papermill", "numpy", "pandas",
                "scipy", "statsmodels", "matplotlib", "seaborn")


def provenance_table(record: dict[str, Any] | None) -> str:
    """The build's data, code, parameters and time, from provenance.json."""
    if record is None:
        return "This page was executed outside a build: there is no provenance record."
    commit, dirty = record["code"]["commit"], record["code"]["dirty"]
    state = "unknown" if dirty is None else ("with uncommitted changes" if dirty else "clean")
    rows = [
        ("Data file", code(record["data"]["file"], in_table=True)),
        ("Data SHA-256", code(record["data"]["sha256"], in_table=True)),
        ("Rows in the file", f"{record['data']['n_rows']}"),
        ("Reconstructed cohort of the paper", "yes" if record["data"]["reconstructed"] else "no"),
        ("Code (git commit)", "not a git checkout" if commit is None else f"{code(commit, in_table=True)} ({state})"),
        ("Moderate group from (baseline HbA1c, %)", f"{record['parameters']['moderate_min']:.1f}"),
        ("Severe group above (baseline HbA1c, %)", f"{record['parameters']['severe_above']:.1f}"),
        ("High dose from (cells)", format_cells(record["parameters"]["dose_cutoff_cells"])),
        ("Python", escape(record["python"])),
        ("Built (UTC)", escape(record["built_at_utc"])),
    ]
    return markdown_table(pd.DataFrame(rows, columns=["Item", "Value"]), escape_cells=False, numeric=False)


def packages_table(record: dict[str, Any] | None) -> str:
    """Versions of the packages that matter most; provenance.json lists all of them."""
    if record is None:
        return ""
    rows = [(name, record["packages"].get(name, "not installed")) for name in KEY_PACKAGES]
    return (markdown_table(pd.DataFrame(rows, columns=["Package", "Version"]), numeric=False)
            + f"\n\n{len(record['packages'])} packages in all; `provenance.json` lists every one.")


def _value(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return {True: "true", False: "false", None: "–"}[v]
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return escape(text if len(text) <= 24 else text[:12] + "…")  # hashes and long paths


def changes_report(record: dict[str, Any] | None) -> str:
    """The changes page: the previous build, the flagged changes, then every change."""
    if record is None or record["previous_build"] is None:
        return "This is the first build in this output folder: there is nothing to compare with."
    prev = record["previous_build"]
    head = (f"Previous build: {escape(prev['built_at_utc'])} UTC, data file {code(prev['data_file'])} "
            f"(SHA-256 {code(str(prev['data_sha256'])[:12] + '…')}).")
    rows = record["changes"]
    if not rows:
        return head + "\n\nNo number changed."
    # What can change a conclusion: a p crossing 0.05, a section (no longer) estimable.
    flagged = [r for r in rows if r["note"].startswith(("crossed", "became"))]
    parts = [head, f"{len(rows)} value(s) changed."]
    if flagged:
        parts.append("What matters most:\n\n" + "\n".join(
            f"- {code(r['key'])}: {_value(r['old'])} → {_value(r['new'])}, **{escape(r['note'])}**"
            for r in flagged))
    table = pd.DataFrame([(r["key"], _value(r["old"]), _value(r["new"]), escape(r["note"]))
                          for r in rows[:MAX_LISTED]], columns=["Value", "Previous build", "This build", "Note"])
    table["Value"] = table["Value"].map(lambda key: code(key, in_table=True))
    parts.append(markdown_table(table, escape_cells=False) + more(len(rows), "`changes.json`"))
    return "\n\n".join(parts)
