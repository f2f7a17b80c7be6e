"""The page as HTML: model output and user input are text, never markup."""

from __future__ import annotations

import pytest

from image_analysis.imaging.prepare import prepare_image
from image_analysis.reports import html_page as render_page
from image_analysis.reports.html import markdown_to_html, render_empty_page
from tests.conftest import make_analysis


@pytest.fixture
def preparation(shared_image):
    return prepare_image(shared_image("heic_iphone13pro_gps_pug.heic"), 'pug<img src=x onerror="alert(1)">.heic')


def test_markdown_structure_is_rendered():
    html = markdown_to_html("## Findings\n\n- **crack**, 2 mm\n\n| Defect | Extent |\n|---|---|\n| crack | 1 m |\n")
    assert "<h2>Findings</h2>" in html
    assert "<li><strong>crack</strong>, 2 mm</li>" in html
    assert "<table>" in html and "<td>crack</td>" in html


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "<img"),
        ("<iframe src=https://example.com></iframe>", "<iframe"),
        ("<style>body{display:none}</style>", "<style"),
        ("[click](javascript:alert(1))", 'href="javascript:'),
        ("[data](data:text/html;base64,PHNjcmlwdD4=)", 'href="data:'),
        ("![tracker](https://example.com/pixel.png)", "<img"),
        ("<!-- hidden --> text", "<!--"),
    ],
)
def test_model_output_cannot_inject_markup(markdown, forbidden):
    html = markdown_to_html(markdown)
    assert forbidden not in html


def test_the_page_escapes_the_file_name_and_question(preparation):
    page = render_page(make_analysis(preparation, "Fine.", question='"><script>alert(2)</script>'))
    assert "<script>alert(2)" not in page and "&lt;script&gt;alert(2)" in page
    assert '<img src=x onerror="alert(1)">' not in page
    assert "pug&lt;img src=x onerror=&#34;alert(1)&#34;&gt;.heic" in page


def test_the_page_shows_sizes_tokens_model_and_metadata(preparation):
    page = render_page(make_analysis(preparation, "A dog.", model="mistral.ministral-3-14b-instruct"))
    for expected in (
        "4032 × 3024 px",
        "1540 × 1176 px",
        "2,352",
        "mistral.ministral-3-14b-instruct",
        "Apple iPhone 13 Pro",
        "21 February 2023 14:33",
        "44.8505°",
        "have not been checked",
    ):
        assert expected in page


def test_a_truncated_description_carries_a_visible_note(preparation):
    page = render_page(make_analysis(preparation, "The wall", truncated=True))
    assert 'class="note warning"' in page and "incomplete" in page


def test_a_page_without_description_shows_the_error(preparation):
    page = render_page(make_analysis(preparation, None, error="Fair usage limit reached. <b>x</b>"))
    assert 'class="note error" role="alert"' in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert 'class="description' not in page


def test_the_empty_page_says_what_to_do():
    assert "Upload a site photo or an engineering drawing" in render_empty_page()
