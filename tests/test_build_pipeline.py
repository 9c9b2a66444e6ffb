"""The build end to end (livingpaper.build.pipeline): the real phases, papermill and
Jupyter Book, on small cohorts, degenerate cohorts and hostile names, folders and disks.

The expected numbers are computed here with statsmodels and numpy, independently of
livingpaper.stats, and compared with what the build wrote to results.json.
"""
from __future__ import annotations

import hashlib
import html as htmllib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from livingpaper import errors, paths
from livingpaper import parameters as analysis
from livingpaper.build import pipeline
from livingpaper.errors import DataError
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

pytestmark = pytest.mark.slow

# Twelve patients, readable: moderate and severe, both dose groups, one without a post value.
SMALL_COHORT = """\
patient_id,hba1c_baseline,hba1c_post,dose_cells,msc_source,followup_months,serious_adverse_event
A01,6.4,6.1,100000000,adipose,12,0
A02,6.9,6.5,300000000,bone_marrow,24,0
A03,7.2,6.4,500000000,umbilical_cord,30,0
A04,7.5,7.3,1000000000,adipose,36,0
A05,7.8,7.0,1000000000,bone_marrow,40,0
A06,8.0,7.1,1500000000,umbilical_cord,18,0
A07,8.4,7.9,2000000000,adipose,60,0
A08,9.1,7.2,2000000000,bone_marrow,48,0
A09,9.6,8.9,500000000,umbilical_cord,9,0
A10,10.2,7.8,1500000000,adipose,66,0
A11,7.0,7.2,200000000,bone_marrow,27,0
A12,8.8,,1000000000,umbilical_cord,33,0
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_tree_state() -> str:
    """Tracked and untracked (not ignored) files of the source tree, with their status."""
    out = subprocess.run(["git", "-C", str(paths.ROOT), "status", "--porcelain", "--untracked-files=all"],
                         capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else ""


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "small.csv"
    path.write_text(SMALL_COHORT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(small_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("books") / "book"
    tree_before, data_before = source_tree_state(), sha(small_csv)
    lines: list[str] = []
    results = pipeline.build(small_csv, out, analysis.Parameters(), log=lines.append)
    return {"out": out, "results": results, "tree_before": tree_before, "data_before": data_before,
            "csv": small_csv, "log": lines}


def test_build_writes_the_book_results_and_provenance(built):
    out = built["out"]
    assert (out / "html" / "index.html").is_file()
    for page in ("methods", "results/overall", "results/moderate", "results/severe", "results/dose",
                 "replication", "data", "reproducibility", "references"):
        assert (out / "html" / "chapters" / f"{page}.html").is_file(), page
    assert json.loads((out / "results.json").read_text()) == built["results"]
    assert (out / "notebooks" / "results" / "severe.ipynb").is_file()


def test_results_json_matches_independent_paired_computations(built):
    data = pd.read_csv(built["csv"]).dropna(subset=["hba1c_post"])
    sections = json.loads((built["out"] / "results.json").read_text())["sections"]
    groups = {
        "overall": data,
        "moderate": data[(data.hba1c_baseline >= 6.2) & (data.hba1c_baseline <= 8.0)],
        "severe": data[data.hba1c_baseline > 8.0],
        "dose_high": data[data.dose_cells >= 1e9],
        "dose_low": data[data.dose_cells < 1e9],
    }
    for name, group in groups.items():
        reduction = (group.hba1c_baseline - group.hba1c_post).to_numpy()
        d = DescrStatsW(reduction)
        t, p, df = d.ttest_mean(0)
        low, high = d.tconfint_mean()
        got = sections[name]
        assert got["estimable"] is True
        assert got["n"] == len(group)
        assert got["mean_reduction"] == pytest.approx(reduction.mean(), abs=1e-12)
        assert got["sd_reduction"] == pytest.approx(reduction.std(ddof=1), rel=1e-12)
        assert got["baseline_mean"] == pytest.approx(group.hba1c_baseline.mean(), abs=1e-12)
        assert got["post_sd"] == pytest.approx(group.hba1c_post.std(ddof=1), rel=1e-12)
        assert (got["t"], got["df"], got["p"]) == pytest.approx((t, df, p), rel=1e-9)
        assert (got["ci95_low"], got["ci95_high"]) == pytest.approx((low, high), rel=1e-9)
        assert got["cohen_dz"] == pytest.approx(reduction.mean() / reduction.std(ddof=1), rel=1e-12)


def test_results_json_matches_independent_dose_computations(built):
    data = pd.read_csv(built["csv"]).dropna(subset=["hba1c_post"])
    data["reduction"] = data.hba1c_baseline - data.hba1c_post
    sections = json.loads((built["out"] / "results.json").read_text())["sections"]
    high, low = data[data.dose_cells >= 1e9].reduction, data[data.dose_cells < 1e9].reduction
    cm = CompareMeans(DescrStatsW(high.to_numpy()), DescrStatsW(low.to_numpy()))
    t, p, df = cm.ttest_ind(usevar="unequal")
    ci = cm.tconfint_diff(usevar="unequal")
    comparison = sections["dose_comparison"]
    assert comparison["difference"] == pytest.approx(high.mean() - low.mean(), abs=1e-12)
    assert (comparison["t"], comparison["df"], comparison["p"]) == pytest.approx((t, df, p), rel=1e-9)
    assert (comparison["ci95_low"], comparison["ci95_high"]) == pytest.approx(ci, rel=1e-9)
    correlation = sections["dose_correlation"]
    assert correlation["n"] == len(data)
    assert correlation["pearson_r"] == pytest.approx(np.corrcoef(data.dose_cells, data.reduction)[0, 1], rel=1e-9)
    ranks = data[["dose_cells", "reduction"]].rank()
    assert correlation["spearman_rho"] == pytest.approx(ranks.corr().iloc[0, 1], rel=1e-9)


def test_exclusions_are_listed_with_row_and_reason(built):
    dataset = json.loads((built["out"] / "results.json").read_text())["dataset"]
    assert dataset["n_rows"] == 12 and dataset["n_analysed"] == 11
    assert dataset["excluded"] == [{"row": 13, "patient_id": "A12",
                                    "reason": "post-treatment HbA1c missing: excluded from every analysis of change"}]
    assert dataset["reconstructed"] is False
    assert dataset["sha256"] == built["data_before"]


def test_provenance_records_data_code_packages_parameters_and_time(built):
    record = json.loads((built["out"] / "provenance.json").read_text())
    assert record["data"]["sha256"] == built["data_before"]
    assert set(record["code"]) == {"commit", "dirty"}
    assert record["packages"]["papermill"] and record["packages"]["jupyter-book"].startswith("1.")
    assert record["parameters"] == analysis.Parameters().to_dict()
    assert record["built_at_utc"].endswith("+00:00")


def test_pages_say_which_data_and_show_published_vs_reproduced(built):
    severe = (built["out"] / "html" / "chapters" / "results" / "severe.html").read_text()
    assert "Published (Matsuoka 2025)" in severe
    assert "small.csv" in severe
    assert "reconstructed cohort" not in severe  # this build is not on the reconstruction
    assert "<img" in severe  # the figures were rendered
    # the machine's paths (papermill's injected parameters) are not on the page
    assert str(built["csv"].parent) not in severe


def test_build_modifies_neither_the_input_nor_the_source_tree(built):
    assert sha(built["csv"]) == built["data_before"]
    assert source_tree_state() == built["tree_before"]


def test_bad_data_fails_before_writing_and_leaves_the_previous_book(built, tmp_path):
    out = built["out"]
    before = sha(out / "results.json")
    bad = tmp_path / "bad.csv"
    bad.write_text(SMALL_COHORT.replace("A03,7.2,6.4", "A03,7.2,six"), encoding="utf-8")
    with pytest.raises(Exception, match=r"bad.csv, row 4, column hba1c_post: value 'six' is not a number"):
        pipeline.build(bad, out, log=lambda _: None)
    assert sha(out / "results.json") == before


def test_failing_chapter_names_chapter_and_cell_and_leaves_the_previous_book(built, tmp_path, monkeypatch):
    out = built["out"]
    before = {p.relative_to(out): sha(p) for p in out.rglob("*") if p.is_file()}
    broken = tmp_path / "chapters"
    shutil.copytree(paths.CHAPTERS_DIR, broken)
    intro = (broken / "intro.md").read_text()
    (broken / "intro.md").write_text(intro.replace("paper = published.load()", "paper = 1 / 0"))
    monkeypatch.setattr(paths, "CHAPTERS_DIR", broken)
    with pytest.raises(errors.BuildError, match=r"chapter 'intro' \(intro.md\) failed in cell \d+: ZeroDivisionError"):
        pipeline.build(built["csv"], out, log=lambda _: None)
    after = {p.relative_to(out): sha(p) for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert (out.parent / f".{out.name}.failed").is_dir()
    # Nothing of the failed build keeps running: kernel server, kernels, renderer.
    assert psutil.Process().children(recursive=True) == []


def test_bad_data_stops_the_kernel_server_at_once(built, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(SMALL_COHORT.replace("A03,7.2,6.4", "A03,7.2,six"), encoding="utf-8")
    with pytest.raises(DataError):
        pipeline.build(bad, tmp_path / "never", log=lambda _: None)
    assert psutil.Process().children(recursive=True) == []
    assert not (tmp_path / "never").exists()


def test_a_build_on_new_data_is_a_replication_on_every_page_and_prints_its_verdicts_last(built):
    out, replication = built["out"], built["results"]["sections"]["replication"]
    assert replication["reconstructed"] is False
    assert list(replication["claims"]) == ["overall", "moderate", "severe", "dose"]
    page = lambda name: (out / "html" / "chapters" / f"{name}.html").read_text()  # noqa: E731
    for name in ("results/overall", "results/moderate", "results/severe", "results/dose"):
        assert "Published vs this cohort" in page(name) and "Match at the paper" not in page(name), name
        assert "✗ differs" not in page(name), name
    assert "Does this cohort show what the paper reported?" in page("replication")
    assert "This build is a <strong>replication</strong>" in (out / "html" / "chapters" / "intro.html").read_text()
    verdicts = built["log"][-4:]
    for line, (name, claim) in zip(verdicts, replication["claims"].items()):
        assert claim["verdict"].replace("_", " ") in line, name
    assert built["log"][-5] == "Replication of Matsuoka et al. 2025 on small.csv:"


def test_out_that_is_not_a_previous_build_is_refused(small_csv, tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("years of work")
    with pytest.raises(errors.BuildError, match="not a book built by livingpaper"):
        pipeline.build(small_csv, precious, log=lambda _: None)
    assert (precious / "chapter1.tex").read_text() == "years of work"


def test_a_book_from_other_data_carries_no_reconstruction_caveat(built):
    for name, section in built["results"]["sections"].items():
        assert section.get("reconstruction_caveat", "missing") is None, name
    page = (built["out"] / "html" / "chapters" / "beyond.html").read_text()
    assert "Made by the reconstruction" not in page
    assert "Holm" in page


# Degenerate but valid data still give a complete book, with the reasons in words.
# A: moderate changes all equal (zero variance), one severe patient, every dose the same
#    (so the low-dose group is empty), and an excluded row whose id carries markup.
DEGENERATE_A = """\
patient_id,hba1c_baseline,hba1c_post,dose_cells,msc_source,followup_months
B01,7.0,6.5,1000000000,adipose,12
B02,7.4,6.9,1000000000,adipose,14
B03,6.6,6.1,1000000000,bone_marrow,16
B04,9.0,8.0,1000000000,umbilical_cord,18
"<b>X</b>*y*",7.1,,1000000000,adipose,20
"""
# B: nobody severe, and nobody's HbA1c changed.
DEGENERATE_B = """\
patient_id,hba1c_baseline,hba1c_post,dose_cells,msc_source,followup_months
C01,7.0,7.0,100000000,adipose,12
C02,7.5,7.5,2000000000,bone_marrow,14
C03,6.5,6.5,500000000,umbilical_cord,16
"""


@pytest.fixture(scope="module")
def degenerate_books(tmp_path_factory):
    root = tmp_path_factory.mktemp("degenerate")
    (root / "a.csv").write_text(DEGENERATE_A, encoding="utf-8")
    (root / "b.csv").write_text(DEGENERATE_B, encoding="utf-8")
    out = root / "book"
    first = pipeline.build(root / "a.csv", out, log=lambda _: None)
    first_html = {p.name: p.read_text() for p in (out / "html" / "chapters" / "results").glob("*.html")}
    first_html["data.html"] = (out / "html" / "chapters" / "data.html").read_text()
    lines: list[str] = []
    second = pipeline.build(root / "b.csv", out, log=lines.append)
    return {"out": out, "a": first, "a_html": first_html, "b": second, "log": lines}


def test_degenerate_sections_are_marked_not_estimable_with_reasons(degenerate_books):
    a = degenerate_books["a"]["sections"]
    assert a["overall"]["estimable"] is True and a["overall"]["n"] == 4
    for name in ("moderate", "severe", "dose_low", "dose_comparison", "dose_correlation"):
        assert a[name]["estimable"] is False, name
        assert a[name]["reason"], name
        assert a[name].get("p") is None and a[name].get("pearson_p") is None, name
    assert a["moderate"]["n"] == 3 and a["moderate"]["mean_reduction"] == pytest.approx(0.5)
    assert a["severe"]["n"] == 1 and a["dose_low"]["n"] == 0
    b = degenerate_books["b"]["sections"]
    assert b["severe"]["n"] == 0 and b["severe"]["estimable"] is False
    assert b["overall"]["estimable"] is False and b["overall"]["mean_reduction"] == 0
    assert b["dose_correlation"]["estimable"] is False


def test_degenerate_pages_say_why_in_words(degenerate_books):
    html = degenerate_books["a_html"]
    assert "Not estimable" in html["severe.html"] or "not estimable" in html["severe.html"]
    assert "not estimable" in html["dose.html"]
    severe_b = (degenerate_books["out"] / "html" / "chapters" / "results" / "severe.html").read_text()
    assert "No patient of this dataset belongs to" in severe_b


def test_markup_in_a_patient_id_is_shown_as_text(degenerate_books):
    page = degenerate_books["a_html"]["data.html"]
    assert "<b>X</b>" not in page
    assert "&lt;b&gt;X&lt;/b&gt;*y*" in page


def test_rebuild_into_the_same_folder_reports_what_changed(degenerate_books):
    out = degenerate_books["out"]
    record = json.loads((out / "changes.json").read_text())
    assert record["previous_build"]["data_file"] == "a.csv"
    by_key = {c["key"]: c for c in record["changes"]}
    assert by_key["sections.overall.estimable"]["note"] == "became not estimable"
    assert by_key["sections.overall.n"]["old"] == 4 and by_key["sections.overall.n"]["new"] == 3
    page = (out / "html" / "chapters" / "changes.html").read_text()
    assert "became not estimable" in page
    assert any("sections.overall.estimable" in line for line in degenerate_books["log"])


# --------------------------------------------------------------------------- hostile names, folders and disks

HOSTILE_NAME = "a|<img src=x onerror=alert(1)>\n```\n<b>bold<\\b> {x} $y$ _z_ %c \x1b[31mred.csv"


def live_markup(page: str) -> list[str]:
    """What of a page a browser would obey (elements, attributes, script text) that holds
    the hostile name's markup: its <img onerror>, its <b>, its alert()."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Collect(HTMLParser):
        script = False

        def handle_starttag(self, tag, attrs):
            self.script = tag == "script"
            if tag == "b" or dict(attrs).get("src") == "x" or any("alert(" in (value or "") for _, value in attrs):
                found.append(f"<{tag} {attrs}>")

        def handle_data(self, data):
            if self.script and "alert(" in data:
                found.append(data)

    Collect().feed(page)
    return found


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    data = root / HOSTILE_NAME
    data.write_text(SMALL_COHORT, encoding="utf-8")
    out = root / "book"
    results = pipeline.build(data, out, log=lambda _: None)
    return {"out": out, "data": data, "results": results}


def test_a_hostile_file_name_puts_no_markup_into_the_book(hostile_book):
    html = hostile_book["out"] / "html"
    for page in html.rglob("*.html"):
        assert live_markup(page.read_text(encoding="utf-8")) == [], page
    reproducibility = (html / "chapters" / "reproducibility.html").read_text(encoding="utf-8")
    row = re.search(r"<tr[^>]*>\s*<td[^>]*><p>Data file</p></td>(.*?)</tr>", reproducibility, re.S).group(1)
    assert row.count("<td") == 1  # the name did not end its cell
    assert "onerror=alert(1)&gt;\\n```" in row  # shown, its line break as \n


def test_a_hostile_file_name_leaves_the_bibtex_of_the_cite_page_whole(hostile_book):
    from pybtex.database import parse_string

    page = (hostile_book["out"] / "html" / "chapters" / "cite.html").read_text(encoding="utf-8")
    blocks = [htmllib.unescape(re.sub(r"<[^>]+>", "", b)) for b in re.findall(r"<pre>(.*?)</pre>", page, re.S)]
    supplement = next(b for b in blocks if b.startswith("@misc"))
    fields = parse_string(supplement, "bibtex").entries.values().__iter__().__next__().fields
    assert fields["version"] and "SHA-256" in fields["note"] and "\n" not in fields["note"]


def test_a_hostile_file_name_is_kept_as_it_is_in_the_json_records(hostile_book):
    out = hostile_book["out"]
    assert json.loads((out / "results.json").read_text())["dataset"]["path"] == HOSTILE_NAME
    assert json.loads((out / "provenance.json").read_text())["data"]["file"] == HOSTILE_NAME


def test_an_interrupted_swap_is_restored_by_the_next_build(hostile_book):
    out, data = hostile_book["out"], hostile_book["data"]
    before = {p.relative_to(out): sha(p) for p in out.rglob("*") if p.is_file()}
    out.rename(out.with_name(f".{out.name}.old"))  # killed between the swap's two renames
    lines: list[str] = []
    pipeline.build(data, out, log=lines.append)
    assert any("Restored the previous book" in line for line in lines)
    assert any("Nothing changed" in line for line in lines)  # the restored book is the current one
    assert {p.relative_to(out): sha(p) for p in out.rglob("*") if p.is_file()} == before
    assert not out.with_name(f".{out.name}.old").exists()


def test_a_data_file_changed_during_the_build_is_described_by_what_was_read(small_csv, tmp_path, monkeypatch):
    data = tmp_path / "moving.csv"
    data.write_text(SMALL_COHORT, encoding="utf-8")
    first, second = data.read_bytes(), SMALL_COHORT.replace("A03,7.2,6.4", "A03,7.2,6.9").encode()
    real = pipeline.hashing.file_sha256

    def hash_then_replace(path):  # the file is replaced just after the build hashed it
        digest = real(path)
        if Path(path) == data:
            data.write_bytes(second)
        return digest

    monkeypatch.setattr(pipeline.hashing, "file_sha256", hash_then_replace)
    out = tmp_path / "book"
    results = pipeline.build(data, out, log=lambda _: None)
    monkeypatch.setattr(pipeline.hashing, "file_sha256", real)
    assert results["dataset"]["sha256"] == hashlib.sha256(second).hexdigest()  # the bytes the book shows
    data.write_bytes(first)  # the old file back: the book shows the other data, so it is rebuilt
    lines: list[str] = []
    again = pipeline.build(data, out, log=lines.append)
    assert not any("Nothing changed" in line for line in lines)
    assert again["dataset"]["sha256"] == hashlib.sha256(first).hexdigest()


def test_a_rejected_file_creates_no_folder(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(SMALL_COHORT.replace("A03,7.2,6.4", "A03,7.2,six"), encoding="utf-8")
    with pytest.raises(DataError):
        pipeline.build(bad, tmp_path / "new" / "nested" / "book", log=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_data_inside_out_is_refused_and_left_in_place(built, tmp_path):
    out = built["out"]
    before = {p.relative_to(out): sha(p) for p in out.rglob("*") if p.is_file()}
    with pytest.raises(errors.BuildError, match="lies inside --out"):
        pipeline.build(out / "results.json", out, log=lambda _: None)
    proc = subprocess.run([sys.executable, "-m", "livingpaper", "build", "--data", str(out / "results.json"),
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 1 and "lies inside --out" in proc.stderr and "Traceback" not in proc.stderr
    assert {p.relative_to(out): sha(p) for p in out.rglob("*") if p.is_file()} == before


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system: too small for a book (about 13 MB), large enough to start one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_ends_in_one_clear_line_and_leaves_nothing_behind(small_csv, small_disk):
    proc = subprocess.run([sys.executable, "-m", "livingpaper", "build", "--data", str(small_csv),
                           "--out", str(small_disk / "book")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "No space left on device" in proc.stderr or "no space left on device" in proc.stderr
    assert "\x1b" not in proc.stderr
    assert list(small_disk.iterdir()) == []  # what filled the disk was removed
    assert psutil.Process().children(recursive=True) == []


def test_a_read_only_out_ends_in_one_clear_line(small_csv, small_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    proc = subprocess.run([sys.executable, "-m", "livingpaper", "build", "--data", str(small_csv),
                           "--out", str(small_disk / "book")], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "not allowed to write" in proc.stderr and "read-only" in proc.stderr.lower()


def test_a_file_name_that_is_not_utf8_is_written_to_every_record_as_utf8(tmp_path):
    data = tmp_path / os.fsdecode(b"clinic\xff.csv")  # bytes of another system's encoding
    data.write_text(SMALL_COHORT, encoding="utf-8")
    out = tmp_path / "book"
    pipeline.build(data, out, log=lambda _: None)
    for record in ("results.json", "provenance.json", "changes.json"):
        json.loads((out / record).read_bytes().decode("utf-8"))  # strict UTF-8
    assert json.loads((out / "results.json").read_text())["dataset"]["path"] == "clinic\ufffd.csv"


def killed_by_the_system(*args) -> None:
    """In place of the analysis: what the out-of-memory killer does to the analysis process of
    a large cohort (a function of this module, so that the process pool can send it)."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_an_analysis_process_killed_from_outside_fails_the_build_in_one_line(small_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "_analyse", killed_by_the_system)
    out = tmp_path / "book"
    with pytest.raises(errors.BuildError, match="ended unexpectedly .* previous book was left as it was"):
        pipeline.build(small_csv, out, log=lambda _: None)
    assert not out.exists()
    assert psutil.Process().children(recursive=True) == []
