"""Site profiles: selectors live in one YAML file per site; errors name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.site_profile import PROFILES_DIR, ProfileError, load_profile


def test_shipped_profiles_load() -> None:
    assert load_profile("local").crawl.review == "article.review"
    assert load_profile("trustpilot").discovery.company_link


def test_profile_by_path(tmp_path: Path) -> None:
    text = (PROFILES_DIR / "local.yaml").read_text()
    path = tmp_path / "mysite.yaml"
    path.write_text(text.replace("name: local", "name: mysite"))
    assert load_profile(path).name == "mysite"


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="known profiles: local, trustpilot"):
        load_profile("nosuchsite")


def test_invalid_profile_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ndiscovery: {}\ncrawl: {}\n")
    with pytest.raises(ProfileError, match=r"broken\.yaml.*company_link"):
        load_profile(path)
