"""Command line: ``livingpaper build | validate | reconstruct``.

Data problems and build failures end in a clear message and a non-zero exit, never in a
Python traceback.
"""
from __future__ import annotations

import argparse
import errno
import gc
import math
import signal
import sys
from pathlib import Path

from livingpaper import paths
from livingpaper.build import pipeline
from livingpaper.errors import BuildError, DataError
from livingpaper.escaping import terminal
from livingpaper.parameters import HBA1C_UNITS, Parameters

DEFAULTS = Parameters()


def _finite(text: str) -> float:
    """A command-line number that must be finite (inf and nan are not thresholds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{terminal(text)!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{terminal(text)!r} is not a finite number")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{terminal(text)!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


class Stopped(BaseException):
    """The build was asked to stop by a signal (SIGTERM, SIGHUP); raised like Ctrl-C's
    KeyboardInterrupt, so that every clean-up runs on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame) -> None:
    # Once stopping, stop listening: a second Ctrl-C or SIGTERM must not cut the clean-up short.
    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Stopped(signum)


def _listen_for_stop() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by whoever started us: stays so
            signal.signal(signum, _stop)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livingpaper", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build the whole book from a data file")
    build.add_argument("--data", type=Path, default=paths.DEFAULT_COHORT, help="cohort file (CSV, XLSX, Parquet)")
    build.add_argument("--out", type=Path, default=paths.DEFAULT_OUT, help="output folder (replaced on success)")
    build.add_argument("--moderate-min", type=_finite, default=DEFAULTS.moderate_min,
                       help="lowest baseline HbA1c (%%) of the moderate group (default %(default)s)")
    build.add_argument("--severe-above", type=_finite, default=DEFAULTS.severe_above,
                       help="baseline HbA1c (%%) above which a patient is severe (default %(default)s)")
    build.add_argument("--dose-cutoff-cells", type=_finite, default=DEFAULTS.dose_cutoff_cells,
                       help="high-dose group: at least this many cells (default %(default)g)")
    build.add_argument("--pdf", action="store_true", help="also write OUT/book.pdf (needs Chromium)")
    build.add_argument("--force", action="store_true",
                       help="execute every chapter even if its inputs did not change")
    build.add_argument("--jobs", type=_positive_int, default=None,
                       help="chapters executed at once (default: cores + 1, or cores above 100,000 rows; "
                            "1 = one after another)")
    build.add_argument("--fresh-kernels", action="store_true",
                       help="start every chapter's kernel as a new Python process instead of forking it "
                            "from one that has imported the libraries already (slower; same outputs)")
    build.add_argument("--executor", choices=pipeline.EXECUTORS, default=pipeline.EXECUTORS[0],
                       help="fast (default): chapters executed several at once in warm kernels, the book "
                            "rendered while they execute; plain: papermill with a new kernel per chapter, one "
                            "after another, then jupyter-book build, as Jupyter's tools do (slower; same book)")

    validate = sub.add_parser("validate", help="check a data file without building")
    validate.add_argument("--data", type=Path, required=True)
    for command in (build, validate):
        command.add_argument("--hba1c-unit", choices=HBA1C_UNITS, default="ngsp",
                             help="unit of the hba1c_baseline/hba1c_post columns: ngsp (%%, default) or "
                                  "ifcc (mmol/mol); columns named *_mmol_mol are always IFCC")
        command.add_argument("--allow-identifiers", action="store_true",
                             help="build even if columns look like direct patient identifiers (they are dropped)")

    reconstruct = sub.add_parser("reconstruct", help="regenerate the reconstructed cohort from data/published.yaml")
    reconstruct.add_argument("--out", type=Path, default=paths.DEFAULT_COHORT)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _listen_for_stop()
    try:
        if args.command == "validate":
            from livingpaper.inputs import cohort as inputs_cohort

            cohort = inputs_cohort.load(args.data, hba1c_unit=args.hba1c_unit, allow_identifiers=args.allow_identifiers)
            name = terminal(args.data.name)
            for note in cohort.notes:
                print(f"{name}: {note}")
            from livingpaper.results.populations import outside_severity_groups_warning
            warning = outside_severity_groups_warning(cohort, DEFAULTS, name)
            if warning:
                print(warning)
            print(f"{terminal(args.data)}: usable: {cohort.n_rows} rows, {cohort.n_analysed} with both HbA1c values, "
                  f"{len(cohort.excluded)} exclusion(s)")
            for e in cohort.excluded:
                print(f"{name}, row {e['row']}: {e['reason']}")
            return 0
        if args.command == "reconstruct":
            from livingpaper import reconstruction
            report = reconstruction.write_cohort(args.out)
            print(f"{terminal(args.out)}: written (seed {report['seed']}, "
                  f"severe n = {report['design']['n_severe']} of feasible {report['design']['feasible_n_severe']})")
            return 0
        params = Parameters(args.moderate_min, args.severe_above, args.dose_cutoff_cells)
        pipeline.build(args.data, args.out, params, command=["livingpaper", *(argv or sys.argv[1:])],
                       hba1c_unit=args.hba1c_unit, allow_identifiers=args.allow_identifiers, jobs=args.jobs,
                       force=args.force, pdf=args.pdf, fresh_kernels=args.fresh_kernels, executor=args.executor)
        return 0
    except DataError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    except (BuildError, ValueError) as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"build failed: {_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C): stopped, with every process it started; the previous book was left as it was",
              file=sys.stderr)
        return 130
    except Stopped as exc:
        print(f"stopped by {signal.Signals(exc.signum).name}, with every process it started; the previous book was "
              "left as it was", file=sys.stderr)
        return 128 + exc.signum


def _os_error(exc: OSError) -> str:
    """An error of the file system in one line: what, and where."""
    where = f" ({terminal(exc.filename)})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"no space left on device{where}; free some space and build again (the previous book is unchanged)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"not allowed to write{where}: {exc.strerror}; choose an --out you may write to"
    return f"{exc.strerror or terminal(exc)}{where}"


def run() -> None:
    """The ``livingpaper`` command: :func:`main`, then exit without the interpreter's
    final garbage collection over every object of pandas, SciPy and matplotlib (half a
    second at every exit, longer than a rebuild with nothing changed takes)."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
