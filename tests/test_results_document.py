"""Tests for livingpaper.results.document: results.json, computed once and read back.

Every expected statistic is recomputed here independently: means and SDs with numpy,
t-tests and intervals with statsmodels, the Wilcoxon signed-rank p by enumerating all
sign flips, correlations with numpy and the t distribution by hand.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math

import numpy as np
import pytest
import yaml
from conftest import cohort_frame, set_cell, write_csv
from livingpaper import paths
from livingpaper.inputs import cohort as dataset
from livingpaper.parameters import Parameters
from livingpaper.results import document as results_document
from scipy import stats as sps
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

# Populations of the fixture (tests/conftest.py) with the paper's thresholds, by hand.
MODERATE = {"P01", "P02", "P03", "P04", "P05"}       # 6.2 <= baseline <= 8.0
SEVERE = {"P06", "P07", "P08", "P09"}                # baseline > 8.0
HIGH = {"P01", "P03", "P06", "P07", "P10"}           # dose >= 1e9
LOW = {"P02", "P04", "P05", "P08", "P09"}            # dose < 1e9
ALL = MODERATE | SEVERE | {"P10"}

# The results.json contract of DESIGN.md, written out.
DATASET_KEYS = {"path", "sha256", "n_rows", "n_analysed", "excluded", "reconstructed"}
PARAMETER_KEYS = {"moderate_min", "severe_above", "dose_cutoff_cells"}
PAIRED_KEYS = {"estimable", "reason", "n", "baseline_mean", "baseline_sd", "post_mean", "post_sd",
               "mean_reduction", "sd_reduction", "ci95_low", "ci95_high", "t", "df", "p", "cohen_dz",
               "wilcoxon_p"}
COMPARISON_KEYS = {"estimable", "reason", "difference", "ci95_low", "ci95_high", "t", "df", "p", "test"}
CORRELATION_KEYS = {"estimable", "reason", "n", "pearson_r", "pearson_p", "spearman_rho", "spearman_p"}
PAIRED_SECTIONS = ["overall", "moderate", "severe", "dose_high", "dose_low"]


def load(tmp_path, frame=None):
    return dataset.load(write_csv(tmp_path, cohort_frame() if frame is None else frame))


@pytest.fixture
def cohort(cohort_csv):
    return dataset.load(cohort_csv)


def fixture_values(patients: set[str]):
    frame = cohort_frame().set_index("patient_id").loc[sorted(patients)]
    return frame["hba1c_baseline"].to_numpy(float), frame["hba1c_post"].to_numpy(float)


def exact_wilcoxon_p(d: np.ndarray) -> float:
    """Two-sided exact signed-rank p by enumerating every sign flip (no ties, no zeros)."""
    ranks = sps.rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    mean = ranks.sum() / 2
    flips = [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product([0, 1], repeat=len(d))]
    return float(np.mean([abs(w - mean) >= abs(observed - mean) - 1e-9 for w in flips]))


def correlation_p(r: float, n: int) -> float:
    t = r * math.sqrt((n - 2) / (1 - r * r))
    return float(2 * sps.t.sf(abs(t), n - 2))


def test_changing_thresholds_changes_the_results(cohort):
    default = results_document.results(cohort, Parameters(), reconstructed=False)
    moved = results_document.results(cohort, Parameters(severe_above=9.0), reconstructed=False)
    assert default["sections"]["severe"]["n"] == 4 and moved["sections"]["severe"]["n"] == 2
    assert moved["parameters"]["severe_above"] == 9.0


# --------------------------------------------------------------------------- Parameters


def test_parameter_defaults_are_the_paper_definitions():
    definitions = yaml.safe_load(paths.PUBLISHED_FIGURES.read_text(encoding="utf-8"))["definitions"]
    p = Parameters()
    assert p.moderate_min == definitions["moderate_min"] == 6.2
    assert p.severe_above == definitions["severe_above"] == 8.0
    assert p.dose_cutoff_cells == definitions["dose_cutoff_cells"] == 1e9


@pytest.mark.parametrize("moderate_min, severe_above", [(8.0, 8.0), (9.0, 8.0)])
def test_parameters_reject_moderate_min_not_below_severe_above(moderate_min, severe_above):
    with pytest.raises(ValueError, match="moderate_min"):
        Parameters(moderate_min=moderate_min, severe_above=severe_above)


@pytest.mark.parametrize("cutoff", [0, -1e9, float("nan")])
def test_parameters_reject_a_non_positive_dose_cutoff(cutoff):
    with pytest.raises(ValueError, match="dose_cutoff_cells"):
        Parameters(dose_cutoff_cells=cutoff)


def test_parameters_to_dict_gives_plain_floats():
    d = Parameters(moderate_min=6.5, severe_above=9, dose_cutoff_cells=5e8).to_dict()
    assert d == {"moderate_min": 6.5, "severe_above": 9.0, "dose_cutoff_cells": 5e8}
    assert all(type(v) is float for v in d.values())


# --------------------------------------------------------------------------- results document


def test_results_have_every_key_of_the_design_contract(cohort):
    results = results_document.results(cohort, Parameters(), reconstructed=True)
    assert DATASET_KEYS <= set(results["dataset"])
    assert PARAMETER_KEYS <= set(results["parameters"])
    sections = results["sections"]
    assert set(PAIRED_SECTIONS) | {"dose_comparison", "dose_correlation"} <= set(sections)
    for name in PAIRED_SECTIONS:
        assert PAIRED_KEYS <= set(sections[name]), name
    assert COMPARISON_KEYS <= set(sections["dose_comparison"])
    assert CORRELATION_KEYS <= set(sections["dose_correlation"])


def test_results_are_json_without_nan(tmp_path):
    # Also with sections that are not estimable (nulls, never NaN) and an exclusion.
    frame = set_cell(cohort_frame(), "P03", "hba1c_post", "")
    cohort = load(tmp_path, frame)
    results = results_document.results(cohort, Parameters(severe_above=10.0, dose_cutoff_cells=1e7), reconstructed=False)
    assert results["sections"]["severe"]["estimable"] is False
    text = json.dumps(results, allow_nan=False)
    assert json.loads(text) == results


def test_results_dataset_describes_the_file(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P03", "hba1c_post", ""), name="clinic.csv")
    results = results_document.results(dataset.load(path), Parameters(), reconstructed=False)
    d = results["dataset"]
    assert d["path"].endswith("clinic.csv")
    assert d["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (d["n_rows"], d["n_analysed"]) == (10, 9)
    assert d["reconstructed"] is False
    assert [(e["row"], e["patient_id"]) for e in d["excluded"]] == [(4, "P03")]
    assert set(d["excluded"][0]) == {"row", "patient_id", "reason"}


def test_results_record_whether_the_data_are_the_reconstruction(cohort):
    assert results_document.results(cohort, Parameters(), reconstructed=True)["dataset"]["reconstructed"] is True
    assert results_document.results(cohort, Parameters(), reconstructed=False)["dataset"]["reconstructed"] is False


@pytest.mark.parametrize("section, patients", [
    ("overall", ALL), ("moderate", MODERATE), ("severe", SEVERE), ("dose_high", HIGH), ("dose_low", LOW)])
def test_paired_sections_equal_independent_computation(cohort, section, patients):
    got = results_document.results(cohort, Parameters(), reconstructed=False)["sections"][section]
    b, a = fixture_values(patients)
    d = b - a
    ds = DescrStatsW(d)
    t, p, df = ds.ttest_mean(0.0)
    low, high = ds.tconfint_mean(alpha=0.05)
    assert got["estimable"] is True
    assert got["n"] == len(patients)
    assert got["baseline_mean"] == pytest.approx(b.mean(), rel=1e-12)
    assert got["baseline_sd"] == pytest.approx(b.std(ddof=1), rel=1e-12)
    assert got["post_mean"] == pytest.approx(a.mean(), rel=1e-12)
    assert got["post_sd"] == pytest.approx(a.std(ddof=1), rel=1e-12)
    assert got["mean_reduction"] == pytest.approx(d.mean(), rel=1e-12)
    assert got["sd_reduction"] == pytest.approx(d.std(ddof=1), rel=1e-12)
    assert got["t"] == pytest.approx(t, rel=1e-9)
    assert got["df"] == df == len(patients) - 1
    assert got["p"] == pytest.approx(p, rel=1e-9)
    assert (got["ci95_low"], got["ci95_high"]) == pytest.approx((low, high), rel=1e-9)
    assert got["cohen_dz"] == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)
    assert got["wilcoxon_p"] == pytest.approx(exact_wilcoxon_p(d), rel=1e-9)


def test_fixture_reductions_by_hand(cohort):
    # Guard the fixture itself: the overall mean reduction is 7.0 / 10 percentage points.
    got = results_document.results(cohort, Parameters(), reconstructed=False)["sections"]
    assert got["overall"]["mean_reduction"] == pytest.approx(0.70)
    assert got["moderate"]["mean_reduction"] == pytest.approx((0.3 + 0.4 + 0.5 + 0.9 - 0.1) / 5)
    assert got["severe"]["mean_reduction"] == pytest.approx((1.1 + 1.8 + 1.3 + 0.2) / 4)


def test_dose_comparison_equals_welch_test_by_statsmodels(cohort):
    got = results_document.results(cohort, Parameters(), reconstructed=False)["sections"]["dose_comparison"]
    bh, ah = fixture_values(HIGH)
    bl, al = fixture_values(LOW)
    cm = CompareMeans.from_data(bh - ah, bl - al)
    t, p, df = cm.ttest_ind(usevar="unequal")
    low, high = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    assert got["estimable"] is True
    assert got["difference"] == pytest.approx((bh - ah).mean() - (bl - al).mean(), rel=1e-12)
    assert got["difference"] == pytest.approx((0.3 + 0.5 + 1.1 + 1.8 + 0.6) / 5 - (0.4 + 0.9 - 0.1 + 1.3 + 0.2) / 5)
    assert got["t"] == pytest.approx(t, rel=1e-9)
    assert got["df"] == pytest.approx(df, rel=1e-9)
    assert got["p"] == pytest.approx(p, rel=1e-9)
    assert (got["ci95_low"], got["ci95_high"]) == pytest.approx((low, high), rel=1e-9)
    assert "Welch" in got["test"]


def test_dose_correlation_equals_pearson_and_spearman_by_hand(cohort):
    got = results_document.results(cohort, Parameters(), reconstructed=False)["sections"]["dose_correlation"]
    frame = cohort_frame()
    dose = frame["dose_cells"].to_numpy(float)
    reduction = frame["hba1c_baseline"].to_numpy(float) - frame["hba1c_post"].to_numpy(float)
    r = np.corrcoef(dose, reduction)[0, 1]
    rho = np.corrcoef(sps.rankdata(dose), sps.rankdata(np.round(reduction, 10)))[0, 1]
    assert got["estimable"] is True and got["n"] == 10
    assert got["pearson_r"] == pytest.approx(r, rel=1e-9)
    assert got["pearson_p"] == pytest.approx(correlation_p(r, 10), rel=1e-6)
    assert got["spearman_rho"] == pytest.approx(rho, rel=1e-9)
    assert got["spearman_p"] == pytest.approx(correlation_p(rho, 10), rel=1e-6)


def test_dose_correlation_leaves_out_patients_without_dose(tmp_path):
    cohort = load(tmp_path, set_cell(cohort_frame(), "P07", "dose_cells", ""))
    got = results_document.results(cohort, Parameters(), reconstructed=False)["sections"]
    assert got["dose_correlation"]["n"] == 9
    assert got["overall"]["n"] == 10
    assert got["dose_high"]["n"] + got["dose_low"]["n"] == 9


# --------------------------------------------------------------------------- not estimable


@pytest.mark.parametrize("severe_above, n", [(10.0, 1), (11.0, 0)])
def test_subgroup_with_one_patient_or_none_is_not_estimable(cohort, severe_above, n):
    severe = results_document.results(cohort, Parameters(severe_above=severe_above), reconstructed=False)["sections"]["severe"]
    assert severe["estimable"] is False
    assert severe["n"] == n
    assert isinstance(severe["reason"], str) and severe["reason"].strip()
    for key in ("t", "df", "p", "ci95_low", "ci95_high", "cohen_dz", "wilcoxon_p", "sd_reduction"):
        assert severe[key] is None, key


def test_all_patients_in_one_dose_group_makes_the_comparison_not_estimable(cohort):
    sections = results_document.results(cohort, Parameters(dose_cutoff_cells=1e7), reconstructed=False)["sections"]
    assert sections["dose_low"]["n"] == 0 and sections["dose_high"]["n"] == 10
    comparison = sections["dose_comparison"]
    assert comparison["estimable"] is False
    assert comparison["reason"] and "low" in comparison["reason"]
    assert comparison["p"] is None and comparison["t"] is None and comparison["difference"] is None


def test_constant_dose_makes_the_correlation_not_estimable(tmp_path):
    frame = cohort_frame()
    frame["dose_cells"] = 1_000_000_000
    sections = results_document.results(load(tmp_path, frame), Parameters(), reconstructed=False)["sections"]
    correlation = sections["dose_correlation"]
    assert correlation["estimable"] is False
    assert correlation["reason"] and "dose" in correlation["reason"]
    assert correlation["pearson_r"] is None and correlation["spearman_rho"] is None
    assert sections["overall"]["estimable"] is True  # the rest of the book still works


def test_results_carry_the_cohort_summary(cohort):
    results = results_document.results(cohort, Parameters(), reconstructed=False)
    assert results["cohort"]["dose_min_cells"] == 1e8
    assert results["cohort"]["msc_sources"] == {"adipose": 3, "bone_marrow": 2, "umbilical_cord": 5}


def test_section_result_rebuilds_the_result_objects_from_a_results_document(cohort):
    document = json.loads(json.dumps(results_document.results(cohort, Parameters(), False)))
    for name in ("overall", "moderate", "severe", "dose_high", "dose_low", "dose_comparison", "dose_correlation"):
        rebuilt = results_document.section(document, name)
        assert rebuilt.to_dict() == document["sections"][name]
    assert results_document.section(document, "severe") == results_document.paired(cohort, "severe", Parameters())


@pytest.mark.parametrize("frame", [
    cohort_frame(),
    # degenerate: one severe patient, nobody low-dose, no adverse-event column
    cohort_frame().drop(columns=["serious_adverse_event"]).assign(dose_cells=2_000_000_000).iloc[[0, 1, 2, 3, 6]],
], ids=["ten patients", "degenerate"])
def test_every_section_of_results_json_loads_back_into_its_typed_result(tmp_path, frame):
    document = json.loads(json.dumps(results_document.results(load(tmp_path, frame), Parameters(), False)))
    assert set(document["sections"]) == set(results_document.SECTION_TYPES)
    for name, section in document["sections"].items():
        typed = results_document.section(document, name)
        assert type(typed) is results_document.SECTION_TYPES[name], name
        assert typed.to_dict() == section, name


def test_the_analyses_beyond_the_paper_read_back_equal_those_computed(cohort):
    from livingpaper.inputs import evidence
    from livingpaper.results import beyond

    document = json.loads(json.dumps(results_document.results(cohort, Parameters(), False)))
    computed = beyond.analyse(cohort, Parameters(), evidence.rtm_anchors())
    read_back = results_document.beyond(document)
    assert read_back.results() == computed.results()
    members = ["label", "p", "p_holm", "in_family"]
    assert read_back.family[members].fillna(-1).equals(computed.family[members].fillna(-1))


def test_the_pages_tables_are_in_results_json_not_computed_on_the_page(cohort):
    document = json.loads(json.dumps(results_document.results(cohort, Parameters(), False)))
    severe = results_document.published_comparison(document, ["severe"])
    assert set(severe["section"]) == {"severe"} and len(severe) >= 2
    assert len(results_document.published_comparison(document)) == len(document["published"]["comparison"])
    by_size, checks, this_build = results_document.implied_tables(document)
    assert len(by_size) and len(checks) and len(this_build)
    assert not results_document.power_curve(document).empty
    assert document["cohort"]["n_no_severity_group"] == 1  # P10 (6.1 %)
    assert document["reconstruction"]["n_total"] == 61  # the paper's cohort, whatever the data


def test_the_power_curve_keeps_its_columns_when_no_trial_can_be_planned(tmp_path):
    # Nobody's HbA1c changed: no SD of the change, no trial to plan, an empty curve that the
    # figure can still read.
    frame = cohort_frame().assign(hba1c_post=lambda f: f["hba1c_baseline"])
    document = json.loads(json.dumps(results_document.results(load(tmp_path, frame), Parameters(), False)))
    curve = results_document.power_curve(document)
    assert curve.empty and {"scenario", "n_per_arm", "power"} <= set(curve.columns)


def test_a_document_reads_the_published_figures_once_and_audits_them_once(cohort, monkeypatch):
    from livingpaper.inputs import published
    from livingpaper.results import caveats
    from livingpaper.stats import consistency

    caveats.reconstruction_caveats()  # its own cache, filled once per process
    calls = {"load": 0, "checks": 0}

    def counted(name, real):
        def call(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(published, "load", counted("load", published.load))
    monkeypatch.setattr(consistency, "checks", counted("checks", consistency.checks))
    results = results_document.results(cohort, Parameters(), reconstructed=True)
    assert calls == {"load": 1, "checks": 1}
    assert len(results["published"]["checks"]) and len(results["published"]["implied_by_size"])
