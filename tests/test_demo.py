"""The README's first command: ``python -m sk_dmlpl``."""

import re

from sk_dmlpl.__main__ import main


def test_demo_prints_dmlpl_beside_the_labeled_only_baseline(capsys):
    main(["--seed", "0", "--verbose"])
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("digits, long-tailed: 345 training rows (40 labeled)")
    assert len(re.findall(r"^round \d/3:", out, flags=re.MULTILINE)) == 3
    scores = {label.strip(): float(score) for label, score in re.findall(r"^(.+?)\s+balanced accuracy (\d\.\d{3})", out, re.MULTILINE)}
    assert set(scores) == {"DMLPLClassifier", "LogisticRegression, labeled rows only", "DMLPLClassifier pseudo-labels"}
    assert scores["DMLPLClassifier"] > scores["LogisticRegression, labeled rows only"]
