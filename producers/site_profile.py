"""Site profiles: every selector for one site in one YAML file (``producers/profiles/<name>.yaml``).

The discovery uses the ``discovery`` block (CSS selectors for Selenium), the reviews spider
the ``crawl`` block (Scrapy CSS selectors, with ``::text`` / ``::attr(name)``). Crawling
another site with the same structure is a new profile file, not a code change.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"


class DiscoverySelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_block: str
    category_name: str
    subcategory_link: str
    company_list_ready: str  # present once the JavaScript-rendered list is complete
    company_link: str
    company_name: str
    next_page: str


class CrawlSelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_name: str
    company_website: str
    company_logo: str
    review: str  # one element per review; the fields below are relative to it
    review_key: str
    text: str
    rating: str
    rating_pattern: str = "([1-5])"  # first group of the first match is the star count
    date: str
    reviewer: str
    next_page: str


class SiteProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    start_path: str = "/categories"
    #: Hosts the crawl may visit (sub-domains included); empty = the start URL's host only.
    allowed_domains: list[str] = []
    discovery: DiscoverySelectors
    crawl: CrawlSelectors


class ProfileError(ValueError):
    """A profile file is missing or invalid; the message names the file and the field."""


def load_profile(name_or_path: str | Path) -> SiteProfile:
    """A profile by name (``local`` -> ``producers/profiles/local.yaml``) or by file path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise ProfileError(f"no site profile {str(name_or_path)!r} ({path} missing); known profiles: {known}")
    try:
        return SiteProfile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as error:
        raise ProfileError(f"invalid YAML in site profile {path}: {error}") from error
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise ProfileError(f"invalid site profile {path}: {problems}") from error
