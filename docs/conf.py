"""Sphinx configuration of the sk-dmlpl documentation.

Build with ``make -C docs html`` (warnings are errors) after
``pip install -e ".[docs]"``. Every example under ``examples/`` runs during the build;
``make -C docs html-noplot`` skips them. No benchmark runs: the benchmark page draws its
tables and plots from the results committed under ``results/`` (see
``sphinxext/benchmark_results.py``), which ``benchmarks/check_results.py`` regenerates.
"""

import os
import subprocess
import sys
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
    # The benchmark page's tables and plots, drawn from the results committed in results/.
    "benchmark_results",
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

# scikit-learn writes set_score_request (score takes sample_weight) with references to its
# own glossary and user guide, which are not part of these pages.
nitpick_ignore = [("std:term", "meta-estimator"), ("std:ref", "metadata_routing")]

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


def setup(app):
    app.connect("builder-inited", _write_help_texts)
