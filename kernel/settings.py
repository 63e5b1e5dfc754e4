"""The one settings object: every tunable of ReviewPulse, read from environment variables.

Import :func:`get_settings` everywhere; never read ``os.environ`` elsewhere. Each
field's environment variable is its upper-case name (``KAFKA_BOOTSTRAP``,
``CLICKHOUSE_URL``, ``MODEL_DIR`` ...). Empty ``KAFKA_BOOTSTRAP`` means "start the
embedded broker"; empty ``CLICKHOUSE_URL`` means "embedded chDB under DATA_DIR".
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = PROJECT_ROOT / "models" / "charcnn"


class Settings(BaseSettings):
    """Effective configuration; ``reviewpulse config`` prints it with secrets masked."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    # where things live
    data_dir: Path = Field(Path("var"), description="embedded broker logs, chDB data, run.json")
    model_dir: Path = Field(DEFAULT_MODEL_DIR, description="char-CNN artefact the worker scores with")

    # Kafka
    kafka_bootstrap: str = Field("", description="host:port list; empty = embedded tansu broker")
    topic_raw: str = "reviews.raw"
    topic_drafts: str = "reviews.drafts"
    topic_scored: str = "reviews.scored"
    topic_dead: str = "reviews.dead"
    topic_brands: str = "brands.discovered"
    topic_partitions: int = Field(4, ge=1)
    drafts_partitions: int = Field(4, ge=1)
    scored_partitions: int = Field(4, ge=1)
    dead_partitions: int = Field(1, ge=1)
    consumer_session_timeout_s: float = Field(6.0, gt=0)
    consumer_rebalance_timeout_s: float = Field(6.0, gt=0)
    consumer_fetch_wait_ms: int = Field(
        20, ge=1, description="longest a worker fetch waits for data (tansu answers only when it expires)"
    )
    reviews_fetch_wait_ms: int = Field(
        200, ge=1, description="the same for a worker that scores no drafts (`reviewpulse run`): each fetch costs "
        "the broker ~1 ms of CPU, and a review may wait this long where a draft may not"
    )
    drafts_retention_ms: int = Field(600_000, ge=1000, description="reviews.drafts retention (drafts go stale fast)")

    # worker
    worker_id: str = "reviewpulse-worker"
    topic_control: str = Field("models.control", description="promote/rollback events every worker reads")
    drafts_consumer: bool = Field(
        True, description="`reviewpulse run`: drafts get a Kafka consumer of their own and go ahead of reviews in "
        "the scoring process, so typing stays fast during imports; false: a Faust agent beside the reviews'"
    )
    shadow_scoring: bool = Field(
        False, description="also score stored reviews with the newest candidate model (shadow_scores table)"
    )
    registry_token: SecretStr = Field(
        SecretStr(""), description="bearer token of the /api/models endpoints; `run` makes one (run.json, 0600)"
    )
    batch_size: int = Field(64, ge=1, description="reviews scored per forward pass, at most")
    batch_window_ms: int = Field(5, ge=0, description="how long a micro-batch waits to fill (drafts: latency)")
    scorer_threads: int = Field(0, ge=0, description="torch threads; 0 = all cores")
    scorer_passes: int = Field(
        4, ge=1, description="ignored: the scorer plans its own length-sorted passes (kept so old configs load)"
    )
    scorer_precision: Literal["auto", "fp32", "bf16", "int8"] = Field(
        "auto", description="auto = the fastest precision whose gate passed in model.json and that the chip runs "
        "natively: int8 on an x86 CPU, else bf16 where native, else fp32"
    )
    scorer_process: bool = Field(
        True, description="score in a child process with its own interpreter lock (inference.process_scorer); "
        "false keeps the model in the worker: less memory, less throughput (docs/benchmarks.md)"
    )
    scorer_memory: Literal["lean", "fast"] = Field(
        "lean", description="the scoring process's allocator: lean maps big blocks on their own (`run` peaks ~1.0 GiB "
        "during an import, pipeline ~0.87x); fast keeps glibc's defaults (~1.35 GiB); both hand memory back when idle"
    )
    max_text_bytes: int = Field(1_000_000, ge=1, description="longer review events are dead-lettered")

    # explanations and languages (inference/explain.py, inference/language.py; docs/explanations-and-languages.md)
    explain_max_sentences: int = Field(
        20, ge=0, description="sentences scored per review, from its start (the rest are counted as left out); "
        "0 = no explanations"
    )
    explain_imports: bool = Field(
        False, description="also explain bulk-imported reviews (kind imported); off: they skip the sentence pass"
    )
    language_min_letters: int = Field(
        25, ge=0, description="texts with fewer letters are scored as English (too short for a reliable language)"
    )
    retry_max_delay_s: float = Field(
        30.0, gt=0, description="longest backoff between retries while ClickHouse or the broker is unreachable"
    )

    # ClickHouse
    clickhouse_url: str = Field("", description="clickhouse://user:pass@host:8123/db; empty = embedded chDB")
    clickhouse_database: str = "reviewpulse"

    # web
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    predict_timeout_s: float = Field(5.0, gt=0)
    ws_max_message_bytes: int = Field(20_000, ge=1)
    ws_max_drafts_per_s: float = Field(10.0, gt=0)
    live_buffer_messages: int = Field(200, ge=1, description="per-viewer queue; older messages drop")
    admin_password_hash: SecretStr = Field(SecretStr(""), description="pbkdf2/bcrypt hash; empty = admin disabled")
    session_secret: SecretStr = Field(SecretStr(""), description="signs session cookies; empty = random per process")
    ip_hash_salt: SecretStr = Field(
        SecretStr(""), description="HMAC key of stored IP hashes; required by `reviewpulse web` off loopback"
    )
    secure_cookies: bool = Field(True, description="mark cookies Secure (turn off only for plain-HTTP dev)")
    admin_login_attempts: int = Field(5, ge=1, description="failed admin logins per IP allowed per window")
    admin_login_window_s: float = Field(300.0, gt=0, description="window of the admin login rate limit")
    review_wait_timeout_s: float = Field(10.0, gt=0, description="POST /api/review?wait=1 waits this long")
    api_max_page_rows: int = Field(500, ge=1, description="largest `limit` GET /api/reviews accepts")
    kafka_publish_timeout_s: float = Field(5.0, gt=0, description="web: Kafka must accept a message within this")
    public_url: str = Field("", description="https://host the browser uses; websocket Origin must match (empty: Host)")
    trusted_proxies: str = Field(
        "127.0.0.1,::1", description="addresses whose X-Forwarded-For is believed (uvicorn forwarded_allow_ips)"
    )
    http_max_body_bytes: int = Field(1_048_576, ge=1, description="larger request bodies answer 413")
    http_max_connections: int = Field(
        4096, ge=1, description="open connections per web process, websockets included (kept below `ulimit -n`)"
    )
    http_max_connections_per_ip: int = Field(
        128, ge=1, description="open connections per client address (a trusted proxy's: the total only)"
    )
    http_header_timeout_s: float = Field(10.0, gt=0, description="request line and headers must arrive within this")
    http_body_idle_timeout_s: float = Field(15.0, gt=0, description="a request body that stops this long is cut")
    api_requests_per_s: float = Field(5.0, gt=0, description="per client and endpoint: predict, review, reviews")
    api_burst: int = Field(20, ge=1, description="requests a client may make at once before the rate applies")
    api_max_offset: int = Field(10_000, ge=0, description="largest `offset`; deeper pages use `cursor`")
    web_query_timeout_s: float = Field(10.0, gt=0, description="ClickHouse max_execution_time of web queries")
    web_query_max_memory_bytes: int = Field(
        1_000_000_000, ge=1, description="ClickHouse max_memory_usage of web queries"
    )
    ws_outbox_messages: int = Field(
        256, ge=1, description="frames queued per websocket; a client this far behind is closed"
    )
    ws_max_connections: int = Field(2000, ge=1, description="open websockets (/ws and /ws/live) per process")
    ws_max_connections_per_ip: int = Field(50, ge=1, description="open websockets per client address")
    ws_send_timeout_s: float = Field(
        30.0, gt=0, description="a websocket frame not written within this (client not reading) closes the socket"
    )
    admin_login_global_attempts: int = Field(
        50, ge=1, description="failed admin logins from all clients together per window"
    )

    # learning loop
    retrain_every_rows: int | None = Field(
        None, ge=0, description="retrain in the background after this many new rated reviews; unset = 1000 under "
        "`reviewpulse run`, off under `reviewpulse web` (set it on one replica); 0 = off"
    )
    auto_promote: bool = Field(True, description="promote an automatic candidate when it passes the gates (never past them)")
    retrain_check_interval_s: float = Field(300.0, gt=0, description="how often the running system counts new labels")
    retrain_min_rows: int = Field(300, ge=1, description="fewest usable labelled rows `reviewpulse retrain` accepts")
    retrain_max_rows: int = Field(50_000, ge=1, description="newest labelled rows a retrain reads, at most")
    retrain_corpus: str = Field(
        "", description="CSV to replay and draw the fixed validation set from; empty = the model's training.data"
    )
    admin_label_weight: float = Field(3.0, gt=0, description="how many stars-labelled rows one admin label counts as")
    gate_overall_margin: float = Field(0.01, ge=0, description="fixed-set macro-F1 a candidate may lose overall")
    gate_domain_margin: float = Field(0.03, ge=0, description="fixed-set macro-F1 a candidate may lose on one source")
    gate_domain_confidence: float = Field(
        0.95, ge=0, le=1, description="a source's fall past the margin counts when a paired bootstrap is this sure of it"
    )
    gate_min_gain: float = Field(0.0, ge=0, description="hold-out macro-F1 a candidate must gain (strictly more)")

    # alerts (stream/storage/alerts.py: `reviewpulse alerts`, Grafana's provisioned rules, the /live banner)
    alert_brand_bad_margin: float = Field(
        0.2, gt=0, le=1, description="a brand's bad share in the last hour above its 7 days before by more than "
        "this (absolute) fires 'brand turns bad'"
    )
    alert_brand_min_reviews: int = Field(
        20, ge=1, description="reviews a brand needs in the last hour before 'brand turns bad' may fire"
    )
    alert_stall_minutes: int = Field(
        5, ge=1, description="events waiting on reviews.raw this long while the worker group takes none fire "
        "'scoring stalls'"
    )
    alert_dead_letters_per_minute: int = Field(
        10, ge=0, description="more dead letters than this in one minute of the last 5 fire 'dead letters spike'"
    )
    alert_acceptance_min_reviews: int = Field(
        50, ge=1, description="rated reviews on / since a promote (and before it, of the previous model) before "
        "'acceptance fell after a promote' may fire"
    )
    alert_check_s: float = Field(
        60.0, gt=0, description="how often the web server records the reviews.raw backlog and checks "
        "'brand turns bad' for the /live banner"
    )

    # Grafana
    grafana_url: str = ""
    grafana_token: SecretStr = SecretStr("")
    grafana_live_interval_s: float = Field(1.0, gt=0, description="how often the web server pushes to Live")
    grafana_live_max_backoff_s: float = Field(30.0, gt=0, description="longest wait after failed Live pushes")
    grafana_live_buffer_lines: int = Field(3600, ge=1, description="Live lines kept while Grafana is down")
    grafana_clickhouse_url: SecretStr = Field(
        SecretStr(""), description="ClickHouse as Grafana reaches it (read-only user), for `dashboards push`"
    )

    # producers (crawlers)
    crawl_profile: str = Field("local", description="site profile: producers/profiles/<name>.yaml, or a path")
    crawl_polite: bool = Field(True, description="obey robots.txt, AutoThrottle, 2 requests per domain at once")
    crawl_dir: Path = Field(Path("var/crawl"), description="where discovery writes companies-<profile>.csv")
    chromium_binary: Path = Field(Path("/usr/bin/chromium"), description="Debian chromium for discovery")
    chromedriver_path: Path = Field(Path("/usr/bin/chromedriver"), description="Debian chromium-driver")
    discovery_wait_s: float = Field(15.0, gt=0, description="explicit wait for a JavaScript-rendered list")
    crawl_max_depth: int = Field(100, ge=1, description="review pages followed per company (Scrapy DEPTH_LIMIT)")
    crawl_max_pages: int = Field(50_000, ge=1, description="a crawl stops after this many pages (CLOSESPIDER_PAGECOUNT)")
    crawl_max_page_bytes: int = Field(5_000_000, ge=1, description="larger responses are dropped (DOWNLOAD_MAXSIZE)")
    demo_reviews_csv: Path | None = Field(
        None, description="text,rating CSV the demo site draws review texts from (such as the training CSV); "
                          "unset or absent: generated texts",
    )

    log_level: str = "INFO"
    log_format: str = Field("json", pattern="^(json|text)$", description="json: one object per line; text: for people")

    @property
    def embedded_broker(self) -> bool:
        return not self.kafka_bootstrap

    @property
    def embedded_clickhouse(self) -> bool:
        return not self.clickhouse_url

    @property
    def max_request_bytes(self) -> int:
        """Largest Kafka produce request any producer sends: a MAX_TEXT_BYTES message, JSON-escaped, plus headroom."""
        return 4 * self.max_text_bytes + 65_536

    @property
    def max_fetch_bytes(self) -> int:
        """Bytes a worker's consumer fetches per partition at most: several messages of MAX_TEXT_BYTES."""
        return 8 * self.max_text_bytes

    @property
    def run_file(self) -> Path:
        """Written by ``reviewpulse run``: the addresses other commands should use."""
        return self.data_dir / "run.json"

    def masked(self) -> dict[str, object]:
        """Settings as plain values with secrets (and URL passwords) hidden."""
        values: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif name.endswith("_url") and isinstance(value, str) and "@" in value:
                scheme, _, rest = value.partition("://")
                value = f"{scheme}://********@{rest.split('@', 1)[1]}"
            values[name] = str(value) if isinstance(value, Path) else value
        return values


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings()
