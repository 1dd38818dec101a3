"""Rerun a benchmark whose results the docs show, and fail when one of its figures differs.

Each folder under ``docs/results/`` holds a benchmark's ``summary.csv``, the command that
wrote it (``command.txt``) and the machine it ran on (``machine.txt``); the benchmark page
draws its tables and plots from them. This script reruns ``command.txt`` into a temporary
folder and compares every figure of the fresh ``summary.csv`` with the committed one,
except the fit seconds (which are the machine's). It exits with status 1 and prints each
figure that differs, or each row or column that one file has and the other lacks.

CI runs it on ``digits_slice`` (digits, ratio 50, 2 seeds, every method: a minute or two
on one core). When a change of the method moves a figure on purpose, regenerate the
committed file with ``--update`` and commit it with the change::

    python benchmarks/check_results.py                    # rerun digits_slice and compare
    python benchmarks/check_results.py --update           # rerun it and rewrite its files
    python benchmarks/check_results.py held_out --update  # any folder of docs/results/ (hours)

The runs use one torch thread (``OMP_NUM_THREADS=1``), as the committed ones did: on CPU
the same seed then gives the same model. A figure is a mean or spread over seeds of
counts on the test set, so a single changed prediction moves it by far more than the
default tolerance, ``--atol 1e-9``, which only absorbs the last digits of a float.

Another kind of CPU can take other kernels, whose float sums differ in the last bits:
enough to flip a prediction where two classes nearly tie, and so a figure. A folder may
therefore also hold the same run on other CPUs, under ``other_cpus/`` (``<cpu>.csv``,
its ``summary.csv``, beside ``<cpu>.txt``, its ``machine.txt``), written there with
``--update --other-cpu`` at the same commit; a rerun passes when it matches the
committed ``summary.csv`` or one of these. ``--update`` alone rewrites ``summary.csv``
and removes ``other_cpus/``, whose figures then belong to the code before::

    python benchmarks/check_results.py --update --other-cpu  # add this CPU's figures

On a CPU that no committed figures name yet (a new kind of CI machine, or any CPU after
``--update`` on another), the figures cannot be checked to the bit. There a rerun that
differs still passes when each of its headline figures (:data:`HEADLINE`: the methods'
scores averaged over every class, and DML-PL's gaps in them) is within ``--cpu-atol``
(default 0.03) of ``summary.csv``, and it says so and how to add this CPU's figures. The
largest difference between the two CPUs of ``digits_slice`` at commit 40136a1 was 0.016
in such a figure (0.058 in one class's recall); a change of the method that moves a
headline figure by more fails on any CPU, and any change fails on a CPU whose figures
are committed.
"""

import argparse
import csv
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
"""The folders of the results the docs show."""

PREFIX = ["python", "-m", "sk_dmlpl.benchmark"]
"""How every ``command.txt`` starts."""

KEY = ("dataset", "imbalance_ratio", "unlabeled_distribution", "method")
"""The columns that name a row of ``summary.csv``."""

IGNORED = ("fit_seconds_",)
"""Prefixes of the columns left out of the comparison: the fit seconds are the machine's."""

HEADLINE = (
    "balanced_accuracy_mean",
    "macro_f1_mean",
    "pseudo_label_balanced_accuracy_mean",
    "gap_to_dmlpl_mean",
    "pseudo_label_gap_to_dmlpl_mean",
)
"""The figures compared within ``--cpu-atol`` on a CPU whose figures are not committed.

Means over every class: a prediction flipped by another CPU's last bits moves them
least. The recall of one class, of the three tail classes (``tail_recall``) or their
geometric mean (``g_mean``) can move several times as much.
"""

OTHER_CPUS = "other_cpus"
"""The folder, in a results folder, of the same run's figures on other CPUs."""


def benchmark_args(command):
    """The benchmark's arguments in a ``command.txt``: its words after ``python -m sk_dmlpl.benchmark``.

    Parameters
    ----------
    command : str
        The file's text: one command, which may continue over lines ending in ``\\``.

    Returns
    -------
    args : list of str
        The arguments; ``--out`` is refused, since the rerun chooses its own folder.

    Examples
    --------
    >>> benchmark_args("python -m sk_dmlpl.benchmark --seeds 2\\n")
    ['--seeds', '2']
    """
    words = shlex.split(command.replace("\\\n", " "))
    if words[: len(PREFIX)] != PREFIX:
        raise ValueError(f"A command.txt must start with {' '.join(PREFIX)!r}; got {command!r}.")
    args = words[len(PREFIX) :]
    if "--out" in args:
        raise ValueError("A command.txt must not give --out: the rerun writes to a folder of its own.")
    return args


def read_rows(path):
    """The rows of a ``summary.csv`` as dicts of strings, keyed by :data:`KEY`."""
    with open(path, newline="") as file:
        return {tuple(row[name] for name in KEY): row for row in csv.DictReader(file)}


def _number(text):
    """``text`` as a float, or None when it is no number (an empty cell is NaN: a field the row lacks)."""
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def compare(committed, fresh, atol=1e-9, columns=None):
    """Every difference between two ``summary.csv`` files' rows, fit seconds left out.

    Parameters
    ----------
    committed, fresh : dict
        As :func:`read_rows` returns.
    atol : float, default=1e-9
        Two numbers are equal when they differ by at most this (NaN equals NaN).
    columns : collection of str, default=None
        If given, only these columns' figures are compared (rows and the columns each
        file has still are).

    Returns
    -------
    differences : list of str
        One line per row that only one file has, per column that only one has, and per
        figure that differs, naming the row, the column and both values; empty when the
        files agree.

    Examples
    --------
    >>> row = {"dataset": "digits", "imbalance_ratio": "50.0", "unlabeled_distribution": "consistent",
    ...        "method": "dmlpl", "balanced_accuracy_mean": "0.8", "fit_seconds_mean": "1.5"}
    >>> key = tuple(row[name] for name in KEY)
    >>> compare({key: row}, {key: {**row, "fit_seconds_mean": "3.0"}})
    []
    >>> compare({key: row}, {key: {**row, "balanced_accuracy_mean": "0.75"}})
    ['digits, ratio 50.0, consistent, dmlpl: balanced_accuracy_mean is 0.75, committed 0.8 (-0.05)']
    """
    differences = []
    for key in committed.keys() - fresh.keys():
        differences.append(f"{_name(key)}: in the committed file, not in the rerun")
    for key in fresh.keys() - committed.keys():
        differences.append(f"{_name(key)}: in the rerun, not in the committed file")
    for key in [key for key in committed if key in fresh]:
        old, new = committed[key], fresh[key]
        for column in dict.fromkeys([*old, *new]):
            if column.startswith(IGNORED):
                continue
            if column not in old or column not in new:
                side = "rerun" if column in new else "committed file"
                differences.append(f"{_name(key)}: column {column} only in the {side}")
                continue
            if columns is not None and column not in columns:
                continue
            a, b = _number(old[column]), _number(new[column])
            if a is not None and b is not None:
                same = (math.isnan(a) and math.isnan(b)) or abs(a - b) <= atol
                delta = f" ({b - a:+.4g})" if math.isfinite(a) and math.isfinite(b) else ""
            else:
                same, delta = old[column] == new[column], ""
            if not same:
                differences.append(f"{_name(key)}: {column} is {new[column]}, committed {old[column]}{delta}")
    return differences


def _name(key):
    """A row's key as it reads in a difference line."""
    dataset, ratio, distribution, method = key
    return f"{dataset}, ratio {ratio}, {distribution}, {method}"


def cpu_name():
    """This machine's CPU, as ``/proc/cpuinfo`` names it, with its family, model and stepping.

    A virtual machine's model name can be as plain as "AMD EPYC" on CPUs of different
    generations, whose kernels differ; the three numbers tell them apart. Elsewhere, the
    name :mod:`platform` gives.
    """
    cpuinfo = Path("/proc/cpuinfo")
    fields = {}
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(), value.strip())  # the first processor's
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    labels = {"cpu family": "family", "model": "model", "stepping": "stepping"}
    numbers = [f"{label} {fields[key]}" for key, label in labels.items() if key in fields]
    return f"{fields['model name']} ({' '.join(numbers)})" if numbers else fields["model name"]


def _cpu_in(machine_file):
    """The CPU a :func:`machine` text names (its first line, before ", N cores, ..."), or None without the file."""
    if not machine_file.exists():
        return None
    return machine_file.read_text().split("\n", 1)[0].rsplit(", ", 2)[0]


def committed_cpu(folder):
    """The CPU that ``folder``'s committed figures ran on: the start of ``machine.txt``, or None without one."""
    return _cpu_in(folder / "machine.txt")


def committed_cpu_of(path):
    """The CPU of ``other_cpus/<cpu>.csv``: the start of the ``<cpu>.txt`` beside it, or its file name."""
    return _cpu_in(path.with_suffix(".txt")) or path.stem


def other_cpu_files(folder):
    """The figures committed for other CPUs: ``other_cpus/<cpu>.csv``, by file name."""
    return sorted((folder / OTHER_CPUS).glob("*.csv"))


def cpu_file_name():
    """This CPU's name as a file name in ``other_cpus/``: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^0-9a-z]+", "-", cpu_name().lower()).strip("-")


def machine(minutes):
    """The text of ``machine.txt``: CPU, cores, torch threads, OS, versions, and the run's minutes.

    The versions are those of every package whose arithmetic the figures go through: a
    new release of one can move a figure as another CPU can.
    """
    from importlib.metadata import version

    import sk_dmlpl

    packages = ("torch", "scikit-learn", "imbalanced-learn", "numpy", "scipy", "skorch", "pynndescent")
    versions = ", ".join(f"{name} {version(name)}" for name in packages)
    return (
        f"{cpu_name()}, {os.cpu_count()} cores, 1 torch thread\n{platform.platform()}\n"
        f"Python {platform.python_version()}, {versions}, "
        f"sk-dmlpl {sk_dmlpl.__version__}\nwhole run: {minutes:.1f} minutes\n"
    )


def rerun(folder, out):
    """Run ``folder``'s ``command.txt`` with ``--out out``, on one torch thread; return its minutes."""
    args = benchmark_args((folder / "command.txt").read_text())
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "sk_dmlpl.benchmark", *args, "--out", str(out)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"The benchmark of {folder} failed:\n{result.stderr[-4000:]}")
    return (time.perf_counter() - started) / 60


def main(argv=None):
    """Rerun one folder of ``docs/results/`` and compare, or (``--update``) rewrite its files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "name", nargs="?", default="digits_slice", help="a folder of docs/results/ (default digits_slice)"
    )
    parser.add_argument("--update", action="store_true", help="rewrite summary.csv and machine.txt from the rerun")
    parser.add_argument(
        "--other-cpu",
        action="store_true",
        help="with --update: write the rerun as this CPU's figures under other_cpus/, leaving summary.csv",
    )
    parser.add_argument("--atol", type=float, default=1e-9, help="tolerance of the comparison (default 1e-9)")
    parser.add_argument(
        "--cpu-atol",
        type=float,
        default=0.03,
        help="on a CPU no committed figures name: tolerance of the headline figures (default 0.03; 0 turns it off)",
    )
    args = parser.parse_args(argv)
    folder = RESULTS / args.name
    if not (folder / "command.txt").exists():
        parser.error(f"{folder} has no command.txt")
    if args.other_cpu and not args.update:
        parser.error("--other-cpu goes with --update")
    with tempfile.TemporaryDirectory() as out:
        minutes = rerun(folder, out)
        if args.update:
            return _update(folder, Path(out) / "summary.csv", minutes, args.other_cpu)
        committed = folder / "summary.csv"
        if not committed.exists():
            parser.error(f"{committed} does not exist: write it with --update")
        fresh = read_rows(Path(out) / "summary.csv")
    committed_rows = read_rows(committed)
    differences = compare(committed_rows, fresh, args.atol)
    others = {path: committed_cpu_of(path) for path in other_cpu_files(folder)}
    if differences:
        for path, other in others.items():
            if not compare(read_rows(path), fresh, args.atol):
                print(
                    f"Every figure of {path} (the run on {other}) but the fit seconds is "
                    f"the same in the rerun ({minutes:.1f} minutes); {committed} differs on this CPU."
                )
                return 0
        print(f"{len(differences)} figure(s) of the rerun differ from {committed}:")
        print("\n".join(f"  {line}" for line in differences))
        cpu, here = committed_cpu(folder), cpu_name()
        # Figures that ran on another CPU, none of them on this one: they cannot match to the bit.
        unknown_cpu = cpu is not None and cpu != here and here not in others.values()
        if unknown_cpu and args.cpu_atol > 0 and not compare(committed_rows, fresh, args.cpu_atol, HEADLINE):
            print(
                f"No committed figures ran on this CPU ({here}); every headline figure is within "
                f"{args.cpu_atol:g} of those of {cpu}, so the rerun passes (the differences above are "
                "left unchecked). To check this CPU to the bit from now on, add its figures at the "
                f"commit that wrote {committed}:\n"
                f"  python benchmarks/check_results.py {args.name} --update --other-cpu"
            )
            return 0
        if others:
            print(f"Nor does it match the figures committed for {'; '.join(others.values())}.")
        if unknown_cpu:
            # Other CPUs take other kernels, whose float sums differ in the last bits: enough
            # to flip a prediction, and so a figure, where two classes' scores nearly tie.
            print(
                f"The committed figures ran on another CPU ({cpu}; this one is {here}), "
                "whose float sums can differ in the last bits and flip a prediction: to tell a change "
                "of the method from the CPU's, rerun here at the commit that wrote them; if they "
                "differ there too, add this CPU's figures:\n"
                f"  python benchmarks/check_results.py {args.name} --update --other-cpu"
            )
        print(
            "If the change is intended, regenerate the file and commit it:\n"
            f"  python benchmarks/check_results.py {args.name} --update"
        )
        return 1
    print(f"Every figure of {committed} but the fit seconds is the same in the rerun ({minutes:.1f} minutes).")
    return 0


def _update(folder, summary, minutes, other_cpu):
    """Write the rerun's ``summary`` as ``folder``'s figures, or as this CPU's under ``other_cpus/``."""
    if other_cpu:
        figures = folder / OTHER_CPUS / f"{cpu_file_name()}.csv"
        figures.parent.mkdir(exist_ok=True)
        machine_file = figures.with_suffix(".txt")
    else:
        figures, machine_file = folder / "summary.csv", folder / "machine.txt"
    shutil.copyfile(summary, figures)
    machine_file.write_text(machine(minutes))
    print(f"Wrote {figures} and {machine_file} ({minutes:.1f} minutes).")
    if not other_cpu and (folder / OTHER_CPUS).exists():
        # The other CPUs' figures are the code's before the change: rerun there to add them again.
        shutil.rmtree(folder / OTHER_CPUS)
        print(f"Removed {folder / OTHER_CPUS}: its figures were those of the code before.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
