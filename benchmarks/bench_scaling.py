"""Scaling benchmark of DMLPLClassifier: fit time per module, predict throughput, peak memory.

A plain script, not a test. For each size it generates a synthetic long-tailed,
partly labeled problem (``make_classification``: 64 features, 20 informative, 10 classes;
class ``k`` holds a share proportional to ``gamma ** (-k / 9)`` with ``gamma=50``; 10% of
each class labeled, at least 2), standardises it, and runs every method in a fresh
subprocess, so that the peak resident memory (``ru_maxrss``) is that of one method at one
size and every process pays its own import and numba start-up, as a user's first fit does.

Methods, side by side in the same run:

``dmlpl``
    ``DMLPLClassifier(random_state=0)`` with its defaults. Its time is split by
    ``history_``: the input-space neighbor search, metric learning, pseudo-labeling
    (and within it the neighbor vote, the forest view and the later rounds' boosting view,
    in every round's and the final views' ``view_seconds``), fine-tuning and the final
    views.
``floor``
    A plain ``skorch.NeuralNet`` fit of the same network (``MLPEncoder`` + linear head
    through the same ``MetricModule``) for the same number of epochs
    (``max_epochs + max_iter * fine_tune_epochs``) over the same rows, with the true
    labels, a cross-entropy loss and ``batch_size=128``: the cost of the training alone.
    Its epoch embeds as many views as there are rows, as DML-PL's does below
    ``2 * max_epoch_rows`` rows (above, DML-PL's epochs stop growing, the floor's do not);
    it takes them in steps of 128 rows, DML-PL in steps of 128 rows with their 128 second
    views.
``labelspreading``, ``selftraining``, ``balancedrf``
    The peers a user tries first: ``LabelSpreading(kernel="knn")``,
    ``SelfTrainingClassifier`` around ``LogisticRegression(class_weight="balanced")``, and
    imbalanced-learn's ``BalancedRandomForestClassifier`` at its strong setting (300 trees,
    ``sampling_strategy="all", replacement=True, bootstrap=False``, one process) on the
    labeled rows alone, whose labels for the unlabeled rows are its predictions.
    ``LabelSpreading`` only up to ``--peer-max-size`` rows (default 100,000): its exact
    k-nearest-neighbor graph grows with the square of the rows.

Each DML-PL row also gives its fit time as a ratio to each peer's of the same run
(``x LS``, ``x ST``, ``x BRF``).

Every process flushes denormal floats to zero (see ``worker`` for why).

Examples
--------
    NUMBA_CACHE_DIR=/tmp/numba_cache python benchmarks/bench_scaling.py --sizes 10000 100000
    python benchmarks/bench_scaling.py --sizes 10000 --methods dmlpl floor --repeats 1
    python benchmarks/bench_scaling.py --compile-check      # pynndescent's numba compile cost
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict

import numpy as np

METHODS = ("dmlpl", "floor", "labelspreading", "selftraining", "balancedrf")
PEERS = {"labelspreading": "x LS", "selftraining": "x ST", "balancedrf": "x BRF"}
N_FEATURES = 64
N_CLASSES = 10
IMBALANCE_RATIO = 50
LABELED_FRACTION = 0.1
N_PREDICT = 200_000


def make_data(n_samples, random_state=0):
    """Synthetic long-tailed, partly labeled, standardised rows: ``X, y_semi, y_true`` (float32, int)."""
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    shares = float(IMBALANCE_RATIO) ** (-np.arange(N_CLASSES) / (N_CLASSES - 1))
    X, y = make_classification(
        n_samples=n_samples,
        n_features=N_FEATURES,
        n_informative=20,
        n_redundant=10,
        n_classes=N_CLASSES,
        n_clusters_per_class=2,
        weights=list(shares / shares.sum()),
        flip_y=0.0,
        class_sep=1.0,
        random_state=random_state,
    )
    rng = np.random.RandomState(random_state)
    y_semi = np.full_like(y, -1)
    for label in range(N_CLASSES):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_labeled = min(len(rows), max(2, round(LABELED_FRACTION * len(rows))))
        y_semi[rows[:n_labeled]] = label
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, y_semi, y


def _peak_rss_mib():
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _predict_rate(predict, X, rng):
    rows = X[rng.randint(len(X), size=N_PREDICT)]
    started = time.perf_counter()
    predict(rows)
    return N_PREDICT / (time.perf_counter() - started)


def _balanced_accuracy_unlabeled(y_true, y_semi, labels):
    from sklearn.metrics import balanced_accuracy_score

    unlabeled = y_semi == -1
    return float(balanced_accuracy_score(y_true[unlabeled], labels[unlabeled]))


def _overrides(args):
    overrides = {"max_epochs": args.max_epochs, "fine_tune_epochs": args.fine_tune_epochs}
    overrides = {name: value for name, value in overrides.items() if value is not None}
    if args.dmlpl_param:  # DMLPLClassifier only; read as the benchmark reads its own
        from sk_dmlpl.benchmark._cli import _dmlpl_param

        overrides.update(_dmlpl_param(item) for item in args.dmlpl_param)
    return overrides


def run_dmlpl(X, y_semi, y_true, args):
    from sk_dmlpl import DMLPLClassifier

    clf = DMLPLClassifier(random_state=0, device=args.device, **_overrides(args))
    started = time.perf_counter()
    clf.fit(X, y_semi)
    fit_seconds = time.perf_counter() - started
    steps, views = defaultdict(float), defaultdict(float)
    for record in clf.history_:
        steps[record["step"]] += record["seconds"]
        for view, seconds in record.get("view_seconds", {}).items():
            views[view] += seconds
    in_history = sum(steps.values())
    result = {
        "fit_s": fit_seconds,
        "metric_s": steps["metric learning"],
        "pseudo_s": steps["pseudo-labeling"],
        "finetune_s": steps["fine-tuning"],
        "final_views_s": steps["final views"],
        "rest_s": fit_seconds - in_history,
        "input_knn_s": steps["input-space neighbors"],
        "pl_knn_s": views["neighbors"],
        "linear_s": views["input"],
        "centers_s": views["centers"],
        "forest_s": views["forest"],
        "boosting_s": views["boosting"],
        # Fine-tuning follows every round but the last.
        "epochs": clf.max_epochs + sum(record["step"] == "fine-tuning" for record in clf.history_) * clf.fine_tune_epochs,
        "device": str(clf.net_.device),
        "bacc_unlabeled": _balanced_accuracy_unlabeled(y_true, y_semi, clf.transduction_),
    }
    result["predict_rows_s"] = _predict_rate(clf.predict, X, np.random.RandomState(1))
    return result


def run_floor(X, y_semi, y_true, args):
    import torch
    import torch.nn.functional as F
    from skorch import NeuralNet
    from torch import nn

    from sk_dmlpl import DMLPLClassifier
    from sk_dmlpl._network import MetricModule, MLPEncoder, fused_adam

    class HeadCrossEntropy(nn.Module):
        def forward(self, y_pred, y):
            return F.cross_entropy(y_pred[1], y)

    defaults = DMLPLClassifier(**_overrides(args))
    epochs = defaults.max_epochs + defaults.max_iter * defaults.fine_tune_epochs
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    module = MetricModule(
        MLPEncoder(X.shape[1], defaults.embedding_dim, tuple(defaults.hidden_units), defaults.dropout),
        defaults.embedding_dim,
        N_CLASSES,
        defaults.temperature,
    )
    net = NeuralNet(
        module,
        HeadCrossEntropy,
        optimizer=torch.optim.Adam,
        optimizer__weight_decay=defaults.weight_decay,
        optimizer__fused=fused_adam(device),
        lr=defaults.lr,
        batch_size=128,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        device=device,
        verbose=0,
    )
    started = time.perf_counter()
    net.fit(X, y_true.astype(np.int64))
    fit_seconds = time.perf_counter() - started

    def predict(rows):
        return net.forward(rows)[1].argmax(1).cpu().numpy()

    return {
        "fit_s": fit_seconds,
        "epochs": epochs,
        "device": device,
        "predict_rows_s": _predict_rate(predict, X, np.random.RandomState(1)),
    }


def _run_peer(clf, X, y_semi, y_true, labeled_only=False):
    """Fit a peer; its fit time, the accuracy of its labels for the unlabeled rows, and predict rate.

    A semi-supervised peer fits on every row and its labels are ``transduction_``; a
    ``labeled_only`` one fits on the labeled rows, and its labels are its predictions.
    """
    labeled = y_semi != -1
    started = time.perf_counter()
    if labeled_only:
        clf.fit(X[labeled], y_semi[labeled])
    else:
        clf.fit(X, y_semi)
    fit_seconds = time.perf_counter() - started
    labels = np.where(labeled, y_semi, clf.predict(X)) if labeled_only else clf.transduction_
    return {
        "fit_s": fit_seconds,
        "bacc_unlabeled": _balanced_accuracy_unlabeled(y_true, y_semi, labels),
        "predict_rows_s": _predict_rate(clf.predict, X, np.random.RandomState(1)),
    }


def run_labelspreading(X, y_semi, y_true, args):
    from sklearn.semi_supervised import LabelSpreading

    return _run_peer(LabelSpreading(kernel="knn"), X, y_semi, y_true)


def run_selftraining(X, y_semi, y_true, args):
    from sklearn.linear_model import LogisticRegression
    from sklearn.semi_supervised import SelfTrainingClassifier

    base = LogisticRegression(class_weight="balanced", max_iter=1000)
    return _run_peer(SelfTrainingClassifier(base), X, y_semi, y_true)


def run_balancedrf(X, y_semi, y_true, args):
    from imblearn.ensemble import BalancedRandomForestClassifier

    forest = BalancedRandomForestClassifier(
        n_estimators=300, sampling_strategy="all", replacement=True, bootstrap=False, random_state=0
    )
    return _run_peer(forest, X, y_semi, y_true, labeled_only=True)


RUNNERS = {
    "dmlpl": run_dmlpl,
    "floor": run_floor,
    "labelspreading": run_labelspreading,
    "selftraining": run_selftraining,
    "balancedrf": run_balancedrf,
}


def worker(args):
    """One method at one size, in this process; prints one JSON line."""
    import warnings

    warnings.simplefilter("ignore")
    import torch

    # After ~50 epochs the plain floor's weights turned denormal (weight decay pushes the
    # weights of dead units towards zero), and its epochs ran 6x slower: a floor that slow
    # would flatter every ratio. Flush denormals to zero in every method's process.
    torch.set_flush_denormal(True)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    X, y_semi, y_true = make_data(args.worker_size, random_state=args.seed)
    data_seconds = time.perf_counter() - started
    result = RUNNERS[args.worker](X, y_semi, y_true, args)
    result.update(method=args.worker, n=args.worker_size, data_s=data_seconds, peak_rss_mib=_peak_rss_mib(), threads=args.threads)
    print("RESULT " + json.dumps(result), flush=True)


def compile_check(args):
    """Time pynndescent's first and second call in this process (numba compile vs. warm)."""
    started = time.perf_counter()
    from pynndescent import NNDescent

    import_seconds = time.perf_counter() - started
    rng = np.random.RandomState(0)
    timings = {"import_s": import_seconds, "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR")}
    for name in ("first", "second"):
        X = rng.normal(size=(25_000, N_FEATURES)).astype(np.float32)
        started = time.perf_counter()
        index = NNDescent(X, n_neighbors=11, random_state=0, n_jobs=1)
        _ = index.neighbor_graph  # the graph is built on first access: that is what is timed
        timings[f"{name}_graph_s"] = time.perf_counter() - started
        started = time.perf_counter()
        index.query(X[:5_000], k=10)
        timings[f"{name}_query_s"] = time.perf_counter() - started
    print("RESULT " + json.dumps(timings), flush=True)


def run_in_subprocess(method, size, args):
    command = [sys.executable, os.path.abspath(__file__), "--worker", method, "--worker-size", str(size)]
    command += ["--seed", str(args.seed), "--device", args.device, "--threads", str(args.threads)]
    for flag, value in (("--max-epochs", args.max_epochs), ("--fine-tune-epochs", args.fine_tune_epochs)):
        if value is not None:
            command += [flag, str(value)]
    for item in args.dmlpl_param:
        command += ["--dmlpl-param", item]
    env = {**os.environ}
    if args.threads > 0:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    env.setdefault("NUMBA_CACHE_DIR", "/tmp/numba_cache")
    completed = subprocess.run(command, check=False, capture_output=True, text=True, env=env)  # failures: below
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{method} at n={size} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}")


def _median(results, key):
    values = [result[key] for result in results if result.get(key) is not None]
    return statistics.median(values) if values else None


def _format(value, spec):
    return format(value, spec) if value is not None else "-"


def print_table(rows):
    columns = [
        ("n", "n", ">9,d"),
        ("method", "method", "<15"),
        ("reps", "reps", ">4d"),
        ("fit_s", "fit s", ">8.1f"),
        ("vs_floor", "x floor", ">7.2f"),
        *((f"vs_{peer}", title, ">6.2f") for peer, title in PEERS.items()),
        ("metric_s", "metric", ">7.1f"),
        ("pseudo_s", "pseudo", ">7.1f"),
        ("pl_knn_s", "(knn)", ">6.1f"),
        ("forest_s", "(forest)", ">8.1f"),
        ("boosting_s", "(boosting)", ">10.1f"),
        ("finetune_s", "finetune", ">8.1f"),
        ("input_knn_s", "in-knn", ">6.1f"),
        ("final_views_s", "final", ">6.1f"),
        ("rest_s", "rest", ">6.1f"),
        ("predict_rows_s", "predict rows/s", ">14,.0f"),
        ("peak_rss_mib", "peak RSS MiB", ">12,.0f"),
        ("bacc_unlabeled", "bacc(U)", ">7.3f"),
    ]
    header = " | ".join(title.ljust(max(len(title), 4)) if key == "method" else title.rjust(max(len(title), 4)) for key, title, _ in columns)
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = []
        for key, title, spec in columns:
            width = max(len(title), 4)
            cells.append(_format(row.get(key), spec).rjust(width) if key != "method" else str(row[key]).ljust(width))
        print(" | ".join(cells))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--repeats", type=int, default=None, help="default: 3 for sizes <= 10,000, 1 above")
    parser.add_argument("--peer-max-size", type=int, default=100_000, help="largest size for LabelSpreading")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-epochs", type=int, default=None, help="override DMLPLClassifier's max_epochs (floor follows)")
    parser.add_argument("--fine-tune-epochs", type=int, default=None, help="override fine_tune_epochs (floor follows)")
    parser.add_argument(
        "--dmlpl-param", action="append", default=[], metavar="NAME=VALUE",
        help="another DMLPLClassifier parameter (repeatable), its value a Python literal or a bare word as in "
        "the benchmark's --dmlpl-param, e.g. max_epoch_rows=None",
    )
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch/BLAS threads per process (default 1: on a shared, oversubscribed CPU, torch's "
        "default of one thread per core made a training step 50x slower in our runs); 0 leaves the default",
    )
    parser.add_argument("--json-out", default=None, help="also write every raw result to this file")
    parser.add_argument("--compile-check", action="store_true", help="time pynndescent's numba compile and exit")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--worker-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.compile_check:
        return compile_check(args)
    if args.worker:
        return worker(args)

    rows, raw = [], []
    for size in args.sizes:
        repeats = args.repeats or (3 if size <= 10_000 else 1)
        for method in args.methods:
            if method == "labelspreading" and size > args.peer_max_size:
                continue
            results = []
            for repeat in range(repeats):
                result = run_in_subprocess(method, size, args)
                print(f"# n={size:,} {method} repeat {repeat + 1}/{repeats}: fit {result['fit_s']:.1f} s", file=sys.stderr, flush=True)
                results.append(result)
            raw += results
            if args.json_out:
                with open(args.json_out, "w") as handle:
                    json.dump(raw, handle, indent=1)
            keys = {key for result in results for key, value in result.items() if isinstance(value, (int, float))}
            row = {key: _median(results, key) for key in keys}
            row.update(method=method, n=size, reps=repeats, device=results[0].get("device"))
            rows.append(row)
        by_method = {row["method"]: row for row in rows if row["n"] == size}
        if "floor" in by_method:
            for row in by_method.values():
                row["vs_floor"] = row["fit_s"] / by_method["floor"]["fit_s"]
        if "dmlpl" in by_method:
            for peer in set(PEERS) & set(by_method):
                by_method["dmlpl"][f"vs_{peer}"] = by_method["dmlpl"]["fit_s"] / by_method[peer]["fit_s"]
    devices = sorted({row["device"] for row in rows if row.get("device")})
    print(f"\nsk-dmlpl scaling benchmark: {N_FEATURES} features, {N_CLASSES} classes, imbalance ratio "
          f"{IMBALANCE_RATIO}, {LABELED_FRACTION:.0%} labeled; device {', '.join(devices) or '-'}; "
          f"medians of 'reps' fresh processes; predict on {N_PREDICT:,} rows")
    print_table(rows)
    for size in args.sizes:
        by_method = {row["method"]: row for row in rows if row["n"] == size}
        if "dmlpl" in by_method and size != args.sizes[0] and "dmlpl" in {r["method"] for r in rows if r["n"] == args.sizes[0]}:
            first = next(row for row in rows if row["n"] == args.sizes[0] and row["method"] == "dmlpl")
            print(f"dmlpl fit time ratio n={size:,} / n={args.sizes[0]:,}: {by_method['dmlpl']['fit_s'] / first['fit_s']:.1f}")
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(raw, handle, indent=1)


if __name__ == "__main__":
    main()
