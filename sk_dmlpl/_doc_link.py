"""The "?" of an estimator's HTML representation: a link to the estimator's page of the API reference.

scikit-learn's HTML representation (``_repr_html_``, shown by notebooks) draws a "?" that
links to ``_doc_link_template``, formatted with the estimator's public module and class
name, for the classes of the package named by ``_doc_link_module``. The API reference
(``docs/api.rst``) writes each page to ``generated/<module>.<name>.html``:
``generated/sk_dmlpl.DMLPLClassifier.html``, ``generated/sk_dmlpl.sampling.LabeledOnly.html``.
"""

# The address of the published documentation, without a trailing slash. The documentation
# has no public address yet: with None the representation shows no "?", rather than a link
# that leads nowhere. Set it when the pages are published.
DOCS_URL = None


def api_page_template(docs_url):
    """Return the ``_doc_link_template`` for documentation at ``docs_url``, or ``""`` (no link) for None."""
    if not docs_url:
        return ""
    return docs_url.rstrip("/") + "/generated/{estimator_module}.{estimator_name}.html"


DOC_LINK_TEMPLATE = api_page_template(DOCS_URL)
