"""The demo site's content: a deterministic catalogue of fictional companies and reviews.

Everything is drawn from one ``random.Random(seed)``, so a seed names a whole site and
tests can compute exactly what a crawler must find (:meth:`Catalogue.expected_reviews`).
Review texts and ratings come from a CSV (``text,rating`` columns, such as the training
data) when one is given and readable, else they are generated.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

CATEGORY_SUBS = {
    "Food & Drink": ("Restaurants", "Cafes", "Bakeries"),
    "Electronics & Technology": ("Phones", "Laptops", "Audio"),
    "Travel & Vacation": ("Hotels", "Airlines", "Tours"),
    "Home & Garden": ("Furniture", "Garden Tools", "Lighting"),
    "Health & Beauty": ("Pharmacies", "Cosmetics", "Gyms"),
}
NAME_PARTS = ("North", "Blue", "Bright", "Silver", "Oak", "River", "Sunny", "Green", "Red", "Golden",
              "Swift", "Urban", "Maple", "Stone", "Cedar", "Harbor", "Pixel", "Velvet", "Iron", "Lotus")
NAME_TAILS = ("Works", "Labs", "Co", "House", "Market", "Hub", "Studio", "Goods", "Supply", "Corner")
GENERATED_PHRASES = {
    1: ("Terrible service, never again.", "The order arrived broken and nobody answered."),
    2: ("Disappointing, slow delivery.", "Not worth the price, staff was rude."),
    3: ("It was okay, nothing special.", "Average experience, some things good, some bad."),
    4: ("Good value and friendly staff.", "Quick delivery, would buy again."),
    5: ("Excellent! Absolutely loved it.", "Outstanding quality, highly recommended."),
}
FAULTS = ("no_stars", "empty", "broken")
MAX_SOURCE_TEXT_CHARS = 600
SOURCE_ROWS_READ = 20_000


@dataclass(frozen=True)
class SiteSpec:
    """How big the site is and where its texts come from; the seed fixes everything else."""

    seed: int = 7
    categories: int = 3  # at most len(CATEGORY_SUBS)
    companies_per_page: int = 10
    reviews_per_page: int = 5
    min_companies: int = 18
    max_companies: int = 27
    min_reviews: int = 8
    max_reviews: int = 14
    reviews_csv: Path | None = None
    slow_page_delay_s: float = 1.0


@dataclass(frozen=True)
class Review:
    key: str
    text: str
    rating: int | None
    date: datetime
    reviewer: str
    fault: str | None = None  # one of FAULTS, or None for a clean review


@dataclass
class Company:
    slug: str
    name: str
    website: str
    category: str
    sub_category: str
    reviews: list[Review] = field(default_factory=list)
    missing: bool = False  # listed, but its page answers 404
    slow: bool = False  # its first review page answers after SiteSpec.slow_page_delay_s


@dataclass
class SubCategory:
    slug: str
    name: str
    category: str
    companies: list[Company] = field(default_factory=list)


@dataclass
class Category:
    slug: str
    name: str
    sub_categories: list[SubCategory] = field(default_factory=list)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def load_texts(path: Path | None) -> list[tuple[str, int]]:
    """(text, rating) pairs from a ``text,rating`` CSV; [] when the file is absent or unusable."""
    if path is None or not Path(path).is_file():
        return []
    pairs: list[tuple[str, int]] = []
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            text = " ".join((row.get("text") or "").split())
            try:
                rating = int(float(row.get("rating") or ""))
            except ValueError:
                continue
            if 20 <= len(text) <= MAX_SOURCE_TEXT_CHARS and 1 <= rating <= 5:
                pairs.append((text, rating))
            if len(pairs) >= SOURCE_ROWS_READ:
                break
    return pairs


class Catalogue:
    """The whole demo site, built from a :class:`SiteSpec`; same spec, same site."""

    def __init__(self, spec: SiteSpec) -> None:
        self.spec = spec
        rng = random.Random(spec.seed)
        texts = load_texts(spec.reviews_csv)
        self.text_source = str(spec.reviews_csv) if texts else "generated"
        self.categories = _build_categories(rng, spec)
        self.companies = [c for cat in self.categories for sub in cat.sub_categories for c in sub.companies]
        used_names: set[str] = set()
        for company in self.companies:
            company.name = _unique_name(rng, used_names)
            company.slug = slugify(company.name)
            company.website = f"https://www.{company.slug}.example"
            count = rng.randint(spec.min_reviews, spec.max_reviews)
            company.reviews = [_make_review(rng, company.slug, i, texts) for i in range(count)]
            company.reviews.sort(key=lambda review: review.date, reverse=True)
        _place_faults(rng, self.companies)
        self.sub_by_slug = {sub.slug: sub for cat in self.categories for sub in cat.sub_categories}
        self.company_by_slug = {company.slug: company for company in self.companies}

    def expected_reviews(self) -> list[tuple[Company, Review]]:
        """What a correct crawl publishes: every review of every reachable company, minus the
        empty and the broken one (those are skipped with a counted reason)."""
        return [
            (company, review)
            for company in self.companies
            if not company.missing
            for review in company.reviews
            if review.fault not in ("empty", "broken")
        ]


def _build_categories(rng: random.Random, spec: SiteSpec) -> list[Category]:
    categories: list[Category] = []
    for name in list(CATEGORY_SUBS)[: spec.categories]:
        category = Category(slug=slugify(name), name=name)
        for sub_name in CATEGORY_SUBS[name][: rng.randint(2, 3)]:
            sub = SubCategory(slug=slugify(sub_name), name=sub_name, category=name)
            count = rng.randint(spec.min_companies, spec.max_companies)
            sub.companies = [Company("", "", "", name, sub_name) for _ in range(count)]
            category.sub_categories.append(sub)
        categories.append(category)
    return categories


def _unique_name(rng: random.Random, used: set[str]) -> str:
    while True:
        first, second = rng.sample(NAME_PARTS, 2)
        name = f"{first} {second} {rng.choice(NAME_TAILS)}"
        if name not in used and slugify(name) not in {slugify(u) for u in used}:
            used.add(name)
            return name


def _make_review(rng: random.Random, slug: str, index: int, texts: list[tuple[str, int]]) -> Review:
    if texts:
        text, rating = rng.choice(texts)
    else:
        rating = rng.randint(1, 5)
        text = " ".join(rng.sample(GENERATED_PHRASES[rating], 2))
    date = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 600 * 24 * 60))
    reviewer = f"{rng.choice(NAME_PARTS)} {chr(65 + rng.randint(0, 25))}."
    return Review(key=f"{slug}-{index:03d}-{rng.getrandbits(32):08x}", text=text, rating=rating,
                  date=date, reviewer=reviewer)


def _place_faults(rng: random.Random, companies: list[Company]) -> None:
    """One of each realistic fault, on distinct companies: a review without stars, an empty
    review, broken markup, a 404 company page, a slow company page."""
    missing, slow, no_stars, empty, broken = rng.sample(companies, 5)
    missing.missing = True
    slow.slow = True
    for company, fault in ((no_stars, "no_stars"), (empty, "empty"), (broken, "broken")):
        index = rng.randrange(len(company.reviews))
        review = company.reviews[index]
        company.reviews[index] = Review(
            key=review.key, text="" if fault == "empty" else review.text,
            rating=None if fault == "no_stars" else review.rating,
            date=review.date, reviewer=review.reviewer, fault=fault,
        )
