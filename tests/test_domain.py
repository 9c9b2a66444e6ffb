"""Tests for livingpaper.domain: the one registry of the book's sections and claims.

Membership is checked against the paper's definitions written out here by hand, on the
ten-patient fixture (tests/conftest.py), whose patients sit on the groups' boundaries.
"""
from __future__ import annotations

import pytest
from conftest import LIKE_THE_PAPER, cohort_frame, replicate, table, write_csv
from livingpaper import domain
from livingpaper.inputs import cohort as dataset
from livingpaper.parameters import Parameters
from livingpaper.present import replication
from livingpaper.results import document


def members(key: str, params: Parameters) -> set[str]:
    data = cohort_frame()
    data["hba1c_baseline"] = data["hba1c_baseline"].astype(float)
    data["dose_cells"] = data["dose_cells"].astype(float)
    return set(data["patient_id"][domain.section(key).members(data, params)])


def test_sections_hold_the_papers_populations_with_their_edges():
    params = Parameters()
    # moderate 6.2 <= baseline <= 8.0; severe > 8.0; P10 (6.1) is in no severity group.
    assert members("moderate", params) == {"P01", "P02", "P03", "P04", "P05"}
    assert members("severe", params) == {"P06", "P07", "P08", "P09"}
    assert members("overall", params) == {f"P{i:02d}" for i in range(1, 11)}
    # high dose >= 1e9 cells (P01 and P10 exactly at the cutoff), low below.
    assert members("dose_high", params) == {"P01", "P03", "P06", "P07", "P10"}
    assert members("dose_low", params) == {"P02", "P04", "P05", "P08", "P09"}


def test_sections_follow_the_thresholds_of_the_build():
    params = Parameters(moderate_min=6.0, severe_above=9.0, dose_cutoff_cells=2e9)
    assert members("severe", params) == {"P07", "P08"}
    assert "P10" in members("moderate", params)
    assert members("dose_high", params) == {"P03", "P07"}


def test_an_unknown_section_is_named_in_the_error():
    with pytest.raises(KeyError, match="unknown section 'mild'; expected one of overall, moderate"):
        domain.section("mild")


def test_definition_states_the_thresholds_of_the_build():
    p = Parameters(moderate_min=6.5, severe_above=9.0, dose_cutoff_cells=5e8)
    assert "6.5" in domain.definition("moderate", p) and "9.0" in domain.definition("moderate", p)
    assert "9.0" in domain.definition("severe", p)
    default = Parameters()
    for section in ("dose_high", "dose_low"):
        assert domain.definition(section, p) != domain.definition(section, default)
        assert "5" in domain.definition(section, p)


def test_each_paired_section_of_results_holds_the_patients_its_registry_entry_names(tmp_path):
    cohort = dataset.load(write_csv(tmp_path, cohort_frame()))
    for params in (Parameters(), Parameters(moderate_min=6.0, severe_above=9.0, dose_cutoff_cells=2e9)):
        for key in domain.PAIRED_SECTIONS:
            assert document.paired(cohort, key, params).n == len(members(key, params)), key


def test_a_page_prints_each_claim_under_the_registrys_label(tmp_path):
    found = replicate(tmp_path, LIKE_THE_PAPER)
    header = table(replication.replication_table(found))[0]
    assert header[1:] == [domain.CLAIMS[key].label for key in found.claims]
    assert list(found.claims) == list(domain.CLAIMS)


def test_verdicts_and_sources_read_as_words():
    assert [domain.verdict_name(v) for v in domain.VERDICTS] == [
        "consistent", "inconsistent", "inconclusive", "not assessable"]
    assert domain.source_label("adipose") == "Adipose tissue"
    assert domain.source_label("amniotic_membrane") == "amniotic membrane"  # not in the registry
