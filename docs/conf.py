"""Sphinx configuration of the sk-dmlpl documentation.

Build with ``make -C docs html`` (warnings are errors) after
``pip install -e ".[docs]"``. Every example under ``examples/`` runs during the build.
"""

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# The examples run inside the build. Set before numpy, scikit-learn and torch load: one
# OpenMP thread each, as the examples set for torch, so that a build on a busy machine
# does not slow down by threads waiting on each other.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Headless: matplotlib draws to files, which sphinx-gallery's scraper collects.
os.environ.setdefault("MPLBACKEND", "Agg")

import sk_dmlpl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "sphinxext"))

project = "sk-dmlpl"
author = "sk-dmlpl developers"
copyright = "sk-dmlpl developers"
version = release = sk_dmlpl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "literal"
# Method entries in a page's contents read "fit()", not "DMLPLClassifier.fit()".
toc_object_entries_show_parents = "hide"
pygments_style = "sphinx"

# -- autodoc, autosummary, numpydoc ---------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
# A method without a docstring of its own (MLPEncoder.forward) is left out, rather than
# shown with torch's generic text.
autodoc_inherit_docstrings = False

# Every cross-reference to sk_dmlpl must resolve. References to other packages (the types
# and "See Also" entries that name scikit-learn, imbalanced-learn, skorch, torch or numpy)
# link through intersphinx when SK_DMLPL_INTERSPHINX=1, and stay plain text otherwise.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(sklearn|numpy|scipy|torch|skorch|imblearn|pynndescent|pytorch_metric_learning|pandas)(\..*)?"),
    # Labels of scikit-learn's own pages, named by the docstrings of the methods the
    # estimators inherit from it (get_metadata_routing, set_output).
    (r"std:ref", r"metadata_routing|df_output_transform|sphx_glr_auto_examples_miscellaneous_plot_set_output\.py"),
]
# -- intersphinx ----------------------------------------------------------------------

# The other packages' inventories come from their sites, so a build that reads them needs
# the network, and one that cannot reach them warns, which -W turns into a failure. The
# default build (CI, offline) therefore reads none, and the references above stay plain
# text; a build with the network, such as the one to publish, links them:
#   SK_DMLPL_INTERSPHINX=1 make -C docs html
# (There it fails if a site cannot be reached: the published pages should not lose links.)
INTERSPHINX = os.environ.get("SK_DMLPL_INTERSPHINX", "0") == "1"
intersphinx_mapping = (
    {
        "python": ("https://docs.python.org/3/", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "imblearn": ("https://imbalanced-learn.org/stable/", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable/", None),
        "torch": ("https://docs.pytorch.org/docs/stable/", None),
    }
    if INTERSPHINX
    else {}
)
intersphinx_timeout = 10

# The class template lists the methods itself; numpydoc would add a second table.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Types such as "ndarray of shape (n_samples,)" stay plain text: no cross-reference guessing.
numpydoc_xref_param_type = False

# -- sphinx-gallery -------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.by_reading_order",
    "minigallery_sort_order": "gallery_order.by_reading_order",
    "doc_module": ("sk_dmlpl",),
    # Inside docs/generated/, which is ignored by git, like the rest of the build output.
    "backreferences_dir": "generated/backreferences",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "min_reported_time": 0,
    # Each example page states its own running time; no extra sg_execution_times.rst
    # is written into the source folder.
    "write_computation_times": False,
    "show_memory": False,
    # Only what the examples print is shown, not the repr of a block's last expression.
    "capture_repr": (),
}

# -- HTML -----------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sk-dmlpl {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "logo": {"text": "sk-dmlpl"},
    "navbar_align": "left",
    "header_links_before_dropdown": 7,
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# No left sidebar: the top bar reaches every section, each page's contents are on the
# right, and code and figures get the width.
html_sidebars = {"**": []}


# -- generated text -------------------------------------------------------------------


def _write_help_texts(app):
    """Write the ``--help`` of the package's two commands to generated/, so the pages show the real options."""
    out = HERE / "generated"
    out.mkdir(parents=True, exist_ok=True)
    for module, name in [("sk_dmlpl", "demo_help.txt"), ("sk_dmlpl.benchmark", "benchmark_help.txt")]:
        result = subprocess.run(
            [sys.executable, "-m", module, "--help"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "COLUMNS": "88"},
        )
        (out / name).write_text(result.stdout)


# The benchmark of the results page (docs/benchmark.rst), run by every build from scratch.
BENCHMARKS = {
    # The results page: every method, both ratios, 5 seeds.
    "benchmark": ["--datasets", "digits", "optdigits", "penbased", "--imbalance-ratio", "50", "100", "--seeds", "5"],
    # Its 20-seed section: every method at ratio 50, on enough seeds to pair them with DML-PL.
    "twenty_seeds": ["--datasets", "digits", "optdigits", "penbased", "--imbalance-ratio", "50", "--seeds", "20"],
    # Its held-out section: three data sets the defaults were not chosen on, DML-PL and the peers.
    "held_out": [
        "--datasets", "satimage", "segment", "texture", "--imbalance-ratio", "50", "--seeds", "20",
        "--methods", "dmlpl", "self-training", "self-training-balanced", "self-training-rf", "label-spreading",
        "logreg-balanced", "svc-balanced", "hgb-balanced", "smote-logreg", "smote-knn", "balanced-rf",
        "easy-ensemble", "oracle",
    ],
}


def _machine():
    """One line on the machine: CPU model, cores, OS, Python and torch."""
    import torch

    cpuinfo = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
              if line.startswith("model name")] if cpuinfo.exists() else []
    cpu = models[0] if models else platform.processor() or platform.machine()
    return (f"{cpu}, {os.cpu_count()} cores, {os.environ['OMP_NUM_THREADS']} torch thread(s); "
            f"{platform.platform()}; Python {platform.python_version()}, torch {torch.__version__}, "
            f"sk-dmlpl {sk_dmlpl.__version__}")


def _run_benchmarks(app):
    """Run each of ``BENCHMARKS`` into generated/<name>/: its table, plots, command and machine.

    The results page shows them, so its figures are always those of the code being built.
    A build that finds them there (no ``make clean`` since) keeps them.
    """
    for name, args in BENCHMARKS.items():
        out = HERE / "generated" / name
        if (out / "table.txt").exists():
            continue
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "sk_dmlpl.benchmark", *args, "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,  # the failure is reported below, with the run's stderr
        )
        if result.returncode != 0:
            raise RuntimeError(f"The {name} run of the results page failed:\n{result.stderr[-4000:]}")
        minutes = (time.perf_counter() - started) / 60
        (out / "table.txt").write_text(result.stdout.split("\nWrote ")[0].rstrip() + "\n")
        (out / "command.txt").write_text(f"python -m sk_dmlpl.benchmark {' '.join(args)}\n")
        (out / "machine.txt").write_text(f"{_machine()}\nwhole run: {minutes:.1f} minutes\n")


def setup(app):
    app.connect("builder-inited", _write_help_texts)
    app.connect("builder-inited", _run_benchmarks)
