"""Company discovery with Selenium: categories -> sub-categories -> every page of companies.

Sub-category pages render their company lists with JavaScript after load, so a plain HTTP
fetch sees an empty list; a headless Chromium (Debian's ``chromium`` + ``chromium-driver``,
never a Selenium Manager download) runs the page and we wait *explicitly* for the profile's
``company_list_ready`` selector. A failure inside one sub-category is logged and skipped,
and listed in :attr:`DiscoveryResult.failures`. Every page is checked against the crawl's
:class:`~producers.scope.Scope` before the browser opens it: http(s) only, on the start
URL's host (or the profile's ``allowed_domains``), and allowed by robots.txt when polite;
what is refused is listed in :attr:`DiscoveryResult.refused`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from kernel.settings import Settings
from producers.companies import DiscoveredCompany
from producers.scope import RobotsRules, Scope, allowed_hosts
from producers.site_profile import DiscoverySelectors, SiteProfile

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

log = logging.getLogger(__name__)
#: A link tuple (category, sub-category, url) or (name, url): the URL is always last.
LinkT = TypeVar("LinkT", bound=tuple[Any, ...])

MAX_PAGES_PER_SUBCATEGORY = 1000


class DiscoveryError(RuntimeError):
    """The start page has no sub-category links: a wrong URL, or a profile that does not fit."""


@dataclass
class DiscoveryResult:
    companies: list[DiscoveredCompany] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (sub-category URL, error)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (URL, reason from Scope.refusal)
    pages: int = 0


def open_browser(settings: Settings) -> Chrome:
    """Headless Chromium through the system chromedriver (a clear error when either is missing)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path, package in ((settings.chromium_binary, "chromium"), (settings.chromedriver_path, "chromium-driver")):
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: `apt-get install -y {package}` (or `make browser`), "
                                    "or set CHROMIUM_BINARY / CHROMEDRIVER_PATH")
    options = webdriver.ChromeOptions()
    options.binary_location = str(settings.chromium_binary)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(settings.chromedriver_path)), options=options)


def categories_url(start_url: str, profile: SiteProfile) -> str:
    """The start URL as given, or the profile's categories path when only a site root is given."""
    return urljoin(start_url, profile.start_path) if urlsplit(start_url).path in ("", "/") else start_url


def discovery_scope(start_url: str, profile: SiteProfile, polite: bool) -> Scope:
    """The start page's host (or the profile's domains), robots.txt obeyed when ``polite``."""
    return Scope(allowed_hosts([start_url], profile.allowed_domains), RobotsRules(obey=polite))


def discover(start_url: str, profile: SiteProfile, settings: Settings,
             on_company: Callable[[DiscoveredCompany], None] | None = None,
             progress: bool = True, polite: bool | None = None) -> DiscoveryResult:
    """Walk the whole catalogue once; ``on_company`` sees each new company as it is found
    (e.g. to publish it), duplicates across sub-categories are reported once.
    ``polite`` (default CRAWL_POLITE) obeys robots.txt."""
    from selenium.common.exceptions import WebDriverException
    from tqdm import tqdm

    result, seen = DiscoveryResult(), set[str]()
    start_page = categories_url(start_url, profile)
    scope = discovery_scope(start_page, profile, settings.crawl_polite if polite is None else polite)
    reason = scope.refusal(start_page)
    if reason:
        raise DiscoveryError(f"{start_page} may not be crawled ({reason}): give an http(s) --start-url "
                             "whose robots.txt allows it")
    driver = open_browser(settings)
    try:
        driver.get(start_page)
        sub_categories = _in_scope(_read_categories(driver, profile.discovery), scope, result)
        if not sub_categories:
            raise DiscoveryError(f"no sub-category links ({profile.discovery.subcategory_link!r} inside "
                                 f"{profile.discovery.category_block!r}) on {driver.current_url}: check "
                                 f"--start-url and the site profile {profile.name!r}")
        log.info("discovery: %d sub-categories at %s", len(sub_categories), start_url)
        for category, sub_category, url in tqdm(sub_categories, desc="sub-categories", unit="sub",
                                                 disable=None if progress else True):  # None: off unless a terminal
            try:
                for company in _walk_sub_category(driver, url, category, sub_category, profile, settings, result,
                                                  scope):
                    if company.url not in seen:
                        seen.add(company.url)
                        result.companies.append(company)
                        if on_company:
                            on_company(company)
            except WebDriverException as error:
                message = error.msg or type(error).__name__
                log.error("discovery: skipped sub-category %s: %s", url, message)
                result.failures.append((url, message))
    finally:
        driver.quit()
    return result


def _in_scope(links: list[LinkT], scope: Scope, result: DiscoveryResult) -> list[LinkT]:
    """The links (URL last) the scope allows; the others are logged and listed as refused."""
    kept: list[LinkT] = []
    for link in links:
        reason = scope.refusal(link[-1])
        if reason:
            log.warning("discovery: refused %s (%s)", link[-1], reason)
            result.refused.append((link[-1], reason))
        else:
            kept.append(link)
    return kept


def _read_categories(driver: Chrome, selectors: DiscoverySelectors) -> list[tuple[str, str, str]]:
    """(category, sub-category, absolute URL) for every sub-category link on the categories page."""
    from selenium.webdriver.common.by import By

    found = []
    for block in driver.find_elements(By.CSS_SELECTOR, selectors.category_block):
        names = block.find_elements(By.CSS_SELECTOR, selectors.category_name)
        category = names[0].text.strip() if names else ""
        for link in block.find_elements(By.CSS_SELECTOR, selectors.subcategory_link):
            # no href: "" is refused as unsupported_scheme, as None was
            found.append((category, link.text.strip(), link.get_attribute("href") or ""))
    return found


def _walk_sub_category(driver: Chrome, url: str, category: str, sub_category: str, profile: SiteProfile,
                       settings: Settings, result: DiscoveryResult, scope: Scope) -> list[DiscoveredCompany]:
    """Every company on every page of one sub-category, following its "next page" links in scope."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    selectors, wait = profile.discovery, WebDriverWait(driver, settings.discovery_wait_s)
    companies: list[DiscoveredCompany] = []
    driver.get(url)
    for _ in range(MAX_PAGES_PER_SUBCATEGORY):
        ready = wait.until(expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, selectors.company_list_ready)))
        result.pages += 1
        links = []
        for link in driver.find_elements(By.CSS_SELECTOR, selectors.company_link):
            names = link.find_elements(By.CSS_SELECTOR, selectors.company_name)
            links.append(((names[0].text if names else link.text).strip(), link.get_attribute("href") or ""))
        companies += [DiscoveredCompany(category, sub_category, name, href)
                      for name, href in _in_scope(links, scope, result)]
        next_links = driver.find_elements(By.CSS_SELECTOR, selectors.next_page)
        if not next_links:
            return companies
        href = next_links[0].get_attribute("href")  # None for a script-only button: it stays on the page
        if href and not _in_scope([(href,)], scope, result):
            return companies
        next_links[0].click()
        wait.until(expected_conditions.staleness_of(ready))
    log.warning("discovery: stopped %s after %d pages", url, MAX_PAGES_PER_SUBCATEGORY)
    return companies
