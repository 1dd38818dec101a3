"""Quick demo: ``python -m sk_dmlpl`` fits DML-PL on long-tailed digits beside a labeled-only baseline."""

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import DMLPLClassifier
from .datasets import make_long_tailed


def main(argv=None):
    """Run the demo: long-tailed digits, DML-PL beside labeled-only LogisticRegression.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``None`` reads ``sys.argv``. ``--help`` lists them.

    Prints the split, then the test balanced accuracy of both models and of the
    pseudo-labels; ``tests/test_demo.py`` runs it.
    """
    parser = argparse.ArgumentParser(prog="python -m sk_dmlpl", description=__doc__)
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of the model (default 0)")
    parser.add_argument("--imbalance-ratio", type=float, default=50, help="largest over smallest class (default 50)")
    parser.add_argument("--labeled-fraction", type=float, default=0.1, help="share of labeled rows (default 0.1)")
    parser.add_argument("--verbose", action="store_true", help="print a line per training step and per pseudo-labeling round")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    data = make_long_tailed(X, y, args.imbalance_ratio, args.labeled_fraction, random_state=args.seed)
    labeled = data.y_train != -1
    print(
        f"digits, long-tailed: {len(data.y_train)} training rows ({labeled.sum()} labeled), "
        f"class sizes {sorted(data.class_counts.tolist(), reverse=True)}, {len(data.y_test)} balanced test rows"
    )

    started = time.perf_counter()
    dmlpl = make_pipeline(StandardScaler(), DMLPLClassifier(random_state=args.seed, verbose=int(args.verbose)))
    dmlpl.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - started
    baseline = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000))
    baseline.fit(data.X_train[labeled], data.y_train[labeled])

    transduction = dmlpl[-1].transduction_[~labeled].astype(data.y_train_true.dtype)
    print(f"DMLPLClassifier                       balanced accuracy {balanced_accuracy_score(data.y_test, dmlpl.predict(data.X_test)):.3f}  (fit {seconds:.1f} s)")
    print(f"LogisticRegression, labeled rows only balanced accuracy {balanced_accuracy_score(data.y_test, baseline.predict(data.X_test)):.3f}")
    print(f"DMLPLClassifier pseudo-labels         balanced accuracy {balanced_accuracy_score(data.y_train_true[~labeled], transduction):.3f}")


if __name__ == "__main__":
    main()
