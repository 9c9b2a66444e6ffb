"""The command line (livingpaper.cli): ``validate`` reports problems in one line each and
never a traceback or a patient id; ``build`` takes its options, ``--executor`` among them.
"""
from __future__ import annotations

import subprocess
import sys

from conftest import BOOK_COHORT
from livingpaper import cli, paths
from livingpaper.build import pipeline


def test_cli_validate_reports_problems_in_one_line_each_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(BOOK_COHORT.replace("A03,7.2", "A03,72.0").replace("A05,", "A04,"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "livingpaper", "validate", "--data", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert any("row 4, column hba1c_baseline: value '72.0'" in line for line in lines)
    assert any("row 6, column patient_id: the same id as row 5" in line for line in lines)
    assert "A04" not in proc.stderr  # an id is never echoed


def test_cli_validate_accepts_the_default_cohort():
    proc = subprocess.run([sys.executable, "-m", "livingpaper", "validate", "--data", str(paths.DEFAULT_COHORT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "usable" in proc.stdout
    assert "warning" not in proc.stdout  # every patient of the reconstruction is in a severity group


def test_cli_validate_warns_without_failing_about_patients_outside_every_severity_group(tmp_path):
    path = tmp_path / "below.csv"
    # Rows 3 and 5 of the file (the header is row 1) have a baseline below 6.2 %.
    path.write_text(BOOK_COHORT.replace("A02,6.9,", "A02,6.0,").replace("A04,7.5,", "A04,6.1,"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "livingpaper", "validate", "--data", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    [warning] = [line for line in proc.stdout.splitlines() if "warning" in line]
    assert "2 patient(s)" in warning and "rows 3, 5" in warning and "6.2" in warning
    assert "no severity group" in warning and "usable" in proc.stdout


def test_cli_refuses_identifier_columns_without_printing_their_values(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text(BOOK_COHORT.replace("patient_id,", "patient_name,patient_id,", 1)
                    .replace("\nA01,", "\nTaro Yamada,A01,").replace("\nA", "\nx,A"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "livingpaper", "validate", "--data", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "column patient_name: looks like a name" in proc.stderr
    assert "Yamada" not in proc.stderr + proc.stdout
    allowed = subprocess.run([sys.executable, "-m", "livingpaper", "validate", "--data", str(path),
                              "--allow-identifiers"], capture_output=True, text=True)
    assert allowed.returncode == 0, allowed.stderr
    assert "Yamada" not in allowed.stderr + allowed.stdout


def test_build_takes_the_executor_by_name_fast_by_default():
    parser = cli._parser()
    assert parser.parse_args(["build"]).executor == "fast"
    assert parser.parse_args(["build", "--executor", "plain"]).executor == "plain"
    assert pipeline.EXECUTORS == ("fast", "plain")


def test_an_unknown_executor_is_refused_by_the_command_line(tmp_path, capsys):
    try:
        cli.main(["build", "--out", str(tmp_path / "book"), "--executor", "quick"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("an unknown executor was accepted")
    assert "invalid choice: 'quick'" in capsys.readouterr().err
    assert not (tmp_path / "book").exists()


def test_jobs_with_the_plain_executor_is_refused_in_one_line_before_anything_is_written(tmp_path):
    data = tmp_path / "cohort.csv"
    data.write_text(BOOK_COHORT)
    proc = subprocess.run([sys.executable, "-m", "livingpaper", "build", "--data", str(data), "--out",
                           str(tmp_path / "book"), "--executor", "plain", "--jobs", "2"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "Traceback" not in proc.stderr
    assert "--jobs 2" in proc.stderr and "plain executor" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv"]


def test_a_file_system_error_without_an_errno_text_is_one_line_with_its_names_shown():
    # shutil.Error and SameFileError carry no strerror; their text holds the file names.
    import shutil

    line = cli._os_error(shutil.SameFileError("bad\nname.csv\x1b[2J is the same file"))
    assert "\n" not in line and "\x1b" not in line and "name.csv" in line
