"""``reviewpulse demo-site``, ``discover`` and ``crawl``: find a site's companies and crawl their reviews.

Heavy imports (selenium, scrapy, kafka) happen inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kernel.logs import uvicorn_logging
from kernel.settings import Settings, get_settings
from reviewpulse.commands.common import Opt, fail, quiet_kafka_clients, require_bootstrap

if TYPE_CHECKING:
    from producers.crawl import CrawlSummary

Profile = Annotated[str, Opt(help="site profile name or YAML path (default: CRAWL_PROFILE)")]
Bootstrap = Annotated[str | None, Opt(help="Kafka host:port (default: KAFKA_BOOTSTRAP, else run.json)")]
CompaniesCsv = Annotated[Path | None, Opt(help="company CSV (default: CRAWL_DIR/companies-<profile>.csv)")]


def publishing_bootstrap(settings: Settings, override: str | None) -> str:
    """The Kafka address to publish to (``--bootstrap`` first), topics ensured; exits with the fix when there is none."""
    from kernel.topics import ensure_topics

    bootstrap = require_bootstrap(settings, override, also=", or pass --bootstrap")
    ensure_topics(bootstrap, settings)
    return bootstrap


def check_profile(profile: str) -> str:
    """The profile name, after checking it loads (exit 2 with the file and field otherwise)."""
    from producers.site_profile import ProfileError, load_profile

    try:
        load_profile(profile)
    except ProfileError as error:
        fail(str(error))
    return profile


def default_companies_csv(settings: Settings, profile: str) -> Path:
    return settings.crawl_dir / f"companies-{Path(profile).stem}.csv"


def run_discovery(start_url: str, profile_name: str, settings: Settings, out: Path,
                  bootstrap: str | None, polite: bool) -> int:
    """Discover, write the CSV, publish Brand events when ``bootstrap`` is given; returns the count."""
    from producers.companies import DiscoveredCompany, write_companies_csv
    from producers.discovery import DiscoveryError, discover
    from producers.kafka_publisher import KafkaPublisher
    from producers.site_profile import load_profile

    profile = load_profile(profile_name)
    publisher = KafkaPublisher(bootstrap, client_id="reviewpulse-discovery") if bootstrap else None
    try:
        def publish(company: DiscoveredCompany) -> None:
            if publisher:
                publisher.publish_brand(settings.topic_brands, company.to_brand(profile.name))

        result = discover(start_url, profile, settings, on_company=publish, polite=polite)
    except DiscoveryError as error:
        fail(str(error))
    finally:
        if publisher:
            publisher.close()
    write_companies_csv(out, result.companies)
    typer.echo(f"discovered {len(result.companies)} companies on {result.pages} pages -> {out}"
               + (f"; published {publisher.delivered} brands" if publisher else ""))
    for url, problem in result.failures:
        typer.echo(f"skipped sub-category {url}: {problem}", err=True)
    for url, reason in result.refused:
        typer.echo(f"refused {url}: {reason}", err=True)
    return len(result.companies)


def crawl_hosts(start_url: str | None, profile: str) -> list[str]:
    """The hosts a crawl started from ``start_url`` may visit ([] = let the spider derive them)."""
    from producers.scope import allowed_hosts
    from producers.site_profile import load_profile

    return allowed_hosts([start_url], load_profile(profile).allowed_domains) if start_url else []


def run_crawl_command(settings: Settings, profile: str, bootstrap: str | None, companies_csv: Path,
                      jobdir: Path | None, feed: Path | None, polite: bool, max_items: int,
                      hosts: list[str]) -> CrawlSummary:
    """Run the Scrapy crawl in this process and print the summary line."""
    from producers.crawl import crawl_settings, run_crawl

    values = crawl_settings(profile=profile, bootstrap=bootstrap, topic_raw=settings.topic_raw,
                            topic_brands=settings.topic_brands, polite=polite, jobdir=jobdir, feed=feed,
                            max_items=max_items, log_level=settings.log_level.upper(), limits=settings)
    summary = run_crawl(values, companies_csv, allowed_hosts=hosts)
    typer.echo(f"crawled {summary.items} reviews from {summary.pages} pages in {summary.elapsed_s:.1f}s "
               f"({summary.items_per_s:.1f} items/s, {summary.pages_per_s:.1f} pages/s); published "
               f"{summary.published}, failed {summary.publish_failed}; skipped {summary.skipped}; "
               f"missing fields {summary.missing}; finish: {summary.finish_reason}")
    return summary


def demo_site_command(
    port: Annotated[int, Opt(help="port to listen on")] = 8001,
    host: Annotated[str, Opt(help="interface to listen on")] = "127.0.0.1",
    seed: Annotated[int, Opt(help="same seed, same site")] = 7,
    reviews_csv: Annotated[Path | None, Opt(help="text,rating CSV (default: DEMO_REVIEWS_CSV)")] = None,
    slow_page_delay_s: Annotated[float, Opt(help="delay of the deliberately slow pages")] = 1.0,
) -> None:
    """Serve the local review site to crawl (JS-rendered company lists, faulty pages included)."""
    import uvicorn

    from producers.demo_site import Catalogue, SiteSpec, create_demo_app

    spec = SiteSpec(seed=seed, reviews_csv=reviews_csv or get_settings().demo_reviews_csv,
                    slow_page_delay_s=slow_page_delay_s)
    catalogue = Catalogue(spec)
    typer.echo(f"demo site: {len(catalogue.companies)} companies, {len(catalogue.expected_reviews())} "
               f"crawlable reviews (texts: {catalogue.text_source}) on http://{host}:{port}/categories")
    uvicorn.run(create_demo_app(catalogue), host=host, port=port, **uvicorn_logging("warning"))


def discover_command(
    start_url: Annotated[str, Opt(help="the site's categories page (or its root)")],
    profile: Profile = "",
    out: CompaniesCsv = None,
    publish: Annotated[bool, Opt(help="publish Brand events to the brands topic")] = True,
    bootstrap: Bootstrap = None,
    polite: Annotated[bool | None, Opt("--polite/--no-polite", help="obey robots.txt (default: CRAWL_POLITE)")] = None,
) -> None:
    """Find every company with headless Chromium; write the CSV and publish the brands."""
    settings = get_settings()
    quiet_kafka_clients(settings)
    profile = check_profile(profile or settings.crawl_profile)
    address = publishing_bootstrap(settings, bootstrap) if publish else None
    run_discovery(start_url, profile, settings, out or default_companies_csv(settings, profile), address,
                  settings.crawl_polite if polite is None else polite)


def crawl_command(
    start_url: Annotated[str | None, Opt(help="categories page to discover companies from")] = None,
    profile: Profile = "",
    skip_discovery: Annotated[bool, Opt(help="crawl the companies of an existing CSV")] = False,
    companies: CompaniesCsv = None,
    jobdir: Annotated[Path | None, Opt(help="Scrapy JOBDIR: an interrupted crawl resumes from it")] = None,
    feed: Annotated[Path | None, Opt(help="also export the items to this .jsonl or .csv file")] = None,
    polite: Annotated[bool | None, Opt("--polite/--no-polite", help="default: CRAWL_POLITE")] = None,
    max_items: Annotated[int, Opt(help="stop after about this many items (0 = all)")] = 0,
    bootstrap: Bootstrap = None,
    publish: Annotated[bool, Opt(help="--no-publish: feed only, no Kafka")] = True,
    stats_json: Annotated[Path | None, Opt(help="write the crawl summary here as JSON")] = None,
) -> None:
    """Discover companies (Selenium), then crawl their reviews (Scrapy) into Kafka reviews.raw."""
    settings = get_settings()
    quiet_kafka_clients(settings)
    profile = check_profile(profile or settings.crawl_profile)
    address = publishing_bootstrap(settings, bootstrap) if publish else None
    companies_csv = companies or default_companies_csv(settings, profile)
    polite = settings.crawl_polite if polite is None else polite
    if not skip_discovery:
        if not start_url:
            raise typer.BadParameter("give --start-url, or --skip-discovery with a company CSV")
        run_discovery(start_url, profile, settings, companies_csv, address, polite)
    elif not companies_csv.is_file():
        raise typer.BadParameter(f"{companies_csv} does not exist: run `reviewpulse discover` first")
    summary = run_crawl_command(settings, profile, address, companies_csv, jobdir, feed, polite, max_items,
                                crawl_hosts(start_url, profile))
    if stats_json:
        stats_json.parent.mkdir(parents=True, exist_ok=True)
        stats_json.write_text(json.dumps(summary.as_dict(), indent=2), encoding="utf-8")
    if summary.publish_failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo-site")(demo_site_command)
    app.command("discover")(discover_command)
    app.command("crawl")(crawl_command)
