"""The ``benchmark-results`` directive: a benchmark's committed results, as the page shows them.

No benchmark runs here. Each folder ``docs/results/<name>/`` holds what a run left that
the page shows: ``summary.csv`` (the benchmark's summary), ``command.txt`` (the command
that wrote it) and ``machine.txt`` (where it ran). ``.. benchmark-results:: <name>``
renders it: the command and machine, then per setting a heading, a table (``csv-table`` of the compact CSV that
:func:`sk_dmlpl.benchmark.write_report` writes), the paired gaps as the benchmark prints
them, and the two plots, drawn under ``generated/results/<name>/`` from ``summary.csv``
(a few seconds; redrawn only when the file changes). Every figure and every sentence
quoting one therefore comes from the committed file. A folder with a ``table.csv`` and
no ``summary.csv`` is shown as that one table; a folder with neither says that its
figures are to be regenerated, and how.

``python benchmarks/check_results.py <name> --update`` reruns a folder's command and
rewrites its files.
"""

from pathlib import Path

from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

DOCS = Path(__file__).resolve().parents[1]
RESULTS = DOCS / "results"
GENERATED = DOCS / "generated" / "results"

# The heading of each setting inside the including section.
SETTING_UNDERLINE = "~"


def _indent(text, prefix="   "):
    return "\n".join(prefix + line if line else "" for line in text.rstrip("\n").splitlines())


def _header(name, folder):
    """The command and machine of a folder, as the section's first lines."""
    lines = [
        f".. Written at build time from docs/results/{name}/ by docs/sphinxext/benchmark_results.py.",
        "",
        "The command that wrote these figures:",
        "",
        ".. code-block:: bash",
        "",
        _indent((folder / "command.txt").read_text()),
        "",
    ]
    if (folder / "machine.txt").exists():
        lines += [
            "The machine it ran on, and how long the whole run took:",
            "",
            ".. code-block:: text",
            "",
            _indent((folder / "machine.txt").read_text()),
            "",
        ]
    return lines


def _from_summary(name, folder, out):
    """The include text of a folder with a ``summary.csv``: a table, the gaps and two plots per setting."""
    from sk_dmlpl.benchmark import _report, read_summary, write_report

    summary = read_summary(folder / "summary.csv")
    # Redrawn when the file, or the code that draws it, is newer than the drawings.
    newest = max(path.stat().st_mtime for path in (folder / "summary.csv", Path(_report.__file__)))
    stale = not out.exists() or any(path.stat().st_mtime < newest for path in out.iterdir())
    settings = _report._settings(summary)
    if stale or len(list(out.glob("*.png"))) < len(settings):
        write_report(summary, out)  # cheap: a few plots, no fit
    lines = _header(name, folder)
    for setting, records in settings.items():
        title = _report._title(setting, records)
        stem = _report._stem(setting)
        seeds = records[0]["n_seeds"]
        lines += [title, SETTING_UNDERLINE * len(title), ""]
        lines += [
            (
                f".. csv-table:: Mean ± standard deviation over {seeds} seed(s); the last column pairs "
                "each method with dmlpl seed by seed (mean ± standard error, and on how many seeds dmlpl "
                "scored higher)"
            ),
            f"   :file: /generated/results/{name}/{stem}_table.csv",
            "   :header-rows: 1",
            "   :class: benchmark-table",
            "",
        ]
        notes = _report._notes(records)
        if notes:
            lines += ["As the benchmark prints them under this table:", ""]
            lines += [f"* {note}" for note in notes] + [""]
        alt = f"{title}: balanced accuracy of each method"
        lines += [f".. image:: /generated/results/{name}/{stem}_balanced_accuracy.png", f"   :alt: {alt}", ""]
        recall = out / f"{stem}_recall_by_class.png"
        if recall.exists():
            alt = f"{title}: test recall of each class, head to tail, dmlpl and the best peer"
            lines += [f".. image:: /generated/results/{name}/{recall.name}", "   :width: 75%", f"   :alt: {alt}", ""]
    verdict = _report._verdict_lines(summary)
    if verdict:
        lines += [verdict[0], ""] + [f"* {line}" for line in verdict[1:]] + [""]
    return lines


def _from_table(name, folder):
    """The include text of a folder with a ``table.csv`` only: that table."""
    return _header(name, folder) + [
        ".. csv-table:: One row per setting and method (the benchmark's table.csv)",
        f"   :file: /results/{name}/table.csv",
        "   :header-rows: 1",
        "   :class: benchmark-table",
        "",
    ]


def _to_regenerate(name, folder):
    """The include text of a folder without figures: what would write them."""
    if not (folder / "command.txt").exists():
        return [
            ".. note::",
            "",
            f"   No results are committed in ``docs/results/{name}/`` yet; its ``README.md`` says",
            "   what goes there, and this section shows it once it is there.",
            "",
        ]
    lines = [
        ".. note::",
        "",
        f"   No figures are committed in ``docs/results/{name}/`` yet: this section is to be",
        "   regenerated. It is a long run, left out of the docs build; it writes them with",
        "",
        "   .. code-block:: bash",
        "",
        f"      python benchmarks/check_results.py {name} --update",
        "",
        "   which runs",
        "",
        "   .. code-block:: bash",
        "",
        _indent((folder / "command.txt").read_text(), "      "),
        "",
    ]
    return lines


def render(name):
    """The include text of ``docs/results/<name>/``, its tables and plots written under ``generated/``."""
    folder = RESULTS / name
    out = GENERATED / name
    if (folder / "summary.csv").exists() and (folder / "command.txt").exists():
        out.mkdir(parents=True, exist_ok=True)
        lines = _from_summary(name, folder, out)
    elif (folder / "table.csv").exists() and (folder / "command.txt").exists():
        lines = _from_table(name, folder)
    else:
        lines = _to_regenerate(name, folder)
    return "\n".join(lines).rstrip("\n") + "\n"


class BenchmarkResults(SphinxDirective):
    """``.. benchmark-results:: <name>``: the results committed in ``docs/results/<name>/``."""

    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        folder = RESULTS / name
        if folder.exists():
            for path in folder.iterdir():  # the page is rebuilt when one of them changes
                self.env.note_dependency(str(path))
        # The page as the text's source, so that the tables' files resolve from its folder.
        text = StringList(render(name).splitlines(), source=str(self.env.doc2path(self.env.docname)))
        return self.parse_text_to_nodes(text, allow_section_headings=True)


def setup(app):
    app.add_directive("benchmark-results", BenchmarkResults)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
