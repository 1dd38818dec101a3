"""The "?" of the HTML representation: a link to the estimator's page of the API reference."""

import re

import pytest
from imblearn.under_sampling import RandomUnderSampler

from sk_dmlpl import DMLPLClassifier
from sk_dmlpl._doc_link import DOCS_URL, api_page_template
from sk_dmlpl.sampling import LabeledOnly

ESTIMATORS = [
    (DMLPLClassifier(), "sk_dmlpl.DMLPLClassifier"),
    (LabeledOnly(RandomUnderSampler()), "sk_dmlpl.sampling.LabeledOnly"),
]


@pytest.mark.parametrize(("estimator", "page"), ESTIMATORS)
def test_the_link_names_the_api_page_autosummary_writes(estimator, page, monkeypatch):
    # generated/<module>.<name>.html, as docs/api.rst's autosummary names the pages.
    monkeypatch.setattr(type(estimator), "_doc_link_template", api_page_template("https://docs.example/sk-dmlpl/"))
    assert estimator._get_doc_link() == f"https://docs.example/sk-dmlpl/generated/{page}.html"
    assert re.search(rf'<a [^>]*sk-estimator-doc-link[^>]*href="https://docs.example/sk-dmlpl/generated/{page}.html"',
                     estimator._repr_html_())


@pytest.mark.parametrize(("estimator", "page"), ESTIMATORS)
def test_no_link_while_the_docs_have_no_address(estimator, page):
    # Not scikit-learn's site either, which has no page for these classes.
    assert DOCS_URL is None
    assert estimator._get_doc_link() == ""
    assert not re.search(r"<a [^>]*sk-estimator-doc-link", estimator._repr_html_())
