"""The demo site: deterministic content, JS-only company lists, and its planted faults."""

from __future__ import annotations

import httpx

from producers.demo_site import Catalogue, SiteSpec
from producers.demo_site.catalogue import FAULTS


def test_same_seed_same_site_other_seed_other_site(catalogue: Catalogue) -> None:
    again = Catalogue(catalogue.spec)
    assert [(c.name, [r.key for r in c.reviews]) for c in again.companies] == \
        [(c.name, [r.key for r in c.reviews]) for c in catalogue.companies]
    other = Catalogue(SiteSpec(seed=catalogue.spec.seed + 1, reviews_csv=catalogue.spec.reviews_csv))
    assert [c.name for c in other.companies] != [c.name for c in catalogue.companies]


def test_texts_come_from_the_csv_when_present_else_generated(tmp_path) -> None:
    csv_path = tmp_path / "reviews.csv"
    csv_path.write_text('text,rating\n"A very specific review text number one",2\n', encoding="utf-8")
    from_csv = Catalogue(SiteSpec(reviews_csv=csv_path))
    assert {r.text for c in from_csv.companies for r in c.reviews if r.fault != "empty"} == \
        {"A very specific review text number one"}
    generated = Catalogue(SiteSpec(reviews_csv=tmp_path / "absent.csv"))
    assert generated.text_source == "generated"
    assert all(r.text for c in generated.companies for r in c.reviews if r.fault != "empty")


def test_every_fault_is_planted_once(catalogue: Catalogue) -> None:
    faults = [r.fault for c in catalogue.companies for r in c.reviews if r.fault]
    assert sorted(faults) == sorted(FAULTS)
    assert sum(c.missing for c in catalogue.companies) == 1
    assert sum(c.slow for c in catalogue.companies) == 1


def test_company_lists_exist_only_behind_javascript(catalogue: Catalogue, demo_site: str) -> None:
    sub = next(iter(catalogue.sub_by_slug.values()))
    html = httpx.get(f"{demo_site}/categories/{sub.slug}").text
    assert sub.companies[0].name not in html
    names, page = [], 1
    while True:
        data = httpx.get(f"{demo_site}/api/categories/{sub.slug}/companies", params={"page": page}).json()
        names += [company["name"] for company in data["companies"]]
        if not data["next"]:
            break
        page += 1
    assert names == [c.name for c in sub.companies]
    assert page == -(-len(sub.companies) // catalogue.spec.companies_per_page)


def test_categories_page_is_static_html(catalogue: Catalogue, demo_site: str) -> None:
    html = httpx.get(f"{demo_site}/categories").text
    for sub in catalogue.sub_by_slug.values():
        assert f"href='/categories/{sub.slug}'" in html


def test_company_pages_are_static_and_paginated(catalogue: Catalogue, demo_site: str) -> None:
    company = next(c for c in catalogue.companies if not c.missing and len(c.reviews) > 5)
    first = httpx.get(f"{demo_site}/review/{company.slug}").text
    assert company.name in first and company.website in first and f"/logos/{company.slug}.svg" in first
    assert company.reviews[0].key in first and company.reviews[5].key not in first
    assert f"/review/{company.slug}?page=2" in first
    assert company.reviews[5].key in httpx.get(f"{demo_site}/review/{company.slug}?page=2").text


def test_missing_company_answers_404(catalogue: Catalogue, demo_site: str) -> None:
    missing = next(c for c in catalogue.companies if c.missing)
    assert httpx.get(f"{demo_site}/review/{missing.slug}").status_code == 404
    assert httpx.get(f"{demo_site}/review/no-such-company").status_code == 404


def test_robots_txt_is_served(demo_site: str) -> None:
    assert "Disallow: /admin/" in httpx.get(f"{demo_site}/robots.txt").text
