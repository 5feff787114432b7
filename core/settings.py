"""All configuration in one pydantic-settings class (environment: SHENPI_*), built in main() and passed down."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.sizes import MIN_MESSAGE_BYTES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHENPI_", env_file=None, extra="ignore")

    # None: the project starts its own (the embedded Tansu broker; an embedded PostgreSQL)
    kafka_bootstrap: Optional[str] = None
    database_url: Optional[str] = None
    state_dir: Path = Path(".shenpi")

    topic_prefix: str = "shenpi"
    partitions: int = Field(default=4, ge=1)
    envelope_max_events: int = Field(default=1000, ge=1)
    # the broker's largest message (Kafka's message.max.bytes is 1,048,588 by default): envelopes are packed below
    # it, and it must hold the largest record the schemas accept (core/sizes.py)
    broker_message_bytes: int = Field(default=1_000_000, ge=MIN_MESSAGE_BYTES)
    # `--wait` of ingest, import-xes and org import gives up (exit 1, saying what is left) after this long
    wait_seconds: float = Field(default=300.0, gt=0)

    api_host: str = "127.0.0.1"
    worker_metrics_port: int = 0  # > 0: the worker serves its own /metrics there
    api_port: int = 8080
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    body_timeout_seconds: float = Field(default=30.0, gt=0)  # a body not received by then: 408
    # every read's cost is bounded: a statement's time, and the reads one caller may have running at once
    api_statement_timeout_seconds: float = Field(default=30.0, gt=0)
    api_reads_per_caller: int = Field(default=4, ge=1)  # per signed-in person; anonymous callers per address
    api_streams_per_person: int = Field(default=8, ge=1)  # live streams, on a cap of their own
    # the connection budget: a request holds at most one; a wait for one past this is answered 503
    api_pool_size: int = Field(default=8, ge=2)
    api_pool_wait_seconds: float = Field(default=5.0, gt=0)
    api_loop_saturated_seconds: float = Field(default=0.5, gt=0)  # /healthz: the loop is late by more than this
    api_stop_seconds: float = Field(default=5.0, gt=0)  # on SIGTERM: requests and connections cut after this
    form_max_bytes: int = Field(default=64 * 1024, ge=1024)  # sign-in and console forms, chunked or not
    # sign-in: failures per name from one address before a doubling wait; per address for all names
    signin_failures: int = Field(default=5, ge=1)
    signin_failures_per_address: int = Field(default=20, ge=1)
    signin_window_seconds: float = Field(default=900.0, gt=0)
    signin_first_wait_seconds: float = Field(default=30.0, gt=0)  # doubled after each further failure
    # `shenpi up`: an API whose /healthz has not answered for this long is stopped (SIGTERM, then SIGKILL after
    # supervise_stop_seconds) and started again; 0: never
    supervise_hang_seconds: float = Field(default=30.0, ge=0)
    supervise_stop_seconds: float = Field(default=5.0, gt=0)
    supervise_startup_seconds: float = Field(default=120.0, gt=0)  # an API not yet answering since it started
    # decision support asked over HTTP: in a child process, within these limits
    analysis_timeout_seconds: float = Field(default=60.0, gt=0)
    analysis_memory_bytes: int = Field(default=2 * 1024 ** 3, ge=256 * 1024 ** 2)
    # analyses and reports share this many child processes; each caller has a queue of its own (at most
    # heavy_queue_per_caller jobs, running included), served in turn; a job waits at most heavy_wait_seconds
    heavy_workers: int = Field(default=2, ge=1, le=16)
    heavy_queue_per_caller: int = Field(default=2, ge=1)
    heavy_wait_seconds: float = Field(default=30.0, gt=0)
    report_timeout_seconds: float = Field(default=90.0, gt=0)  # an evaluation's report printed by Chromium
    # Comma-separated secrets: a request must carry one bearer token or an HMAC-SHA256 of its body by one key.
    webhook_tokens: SecretStr = SecretStr("")
    webhook_hmac_keys: SecretStr = SecretStr("")
    # List administrators, "name:token" comma-separated: they draft list changes, and approve another's drafts.
    list_admin_tokens: SecretStr = SecretStr("")
    # reads need credentials (a user's token, the platform's, a trusted gateway's header) unless this is "open"
    read_access: Literal["users", "open"] = "users"
    trusted_user_header: Optional[str] = None  # behind a government gateway: the header naming the user
    # the addresses of that gateway (comma-separated): the header is believed from these peers only
    trusted_proxies: str = ""
    # the key of the keyed hash that replaces identity numbers at the edge; unset: one kept in the state folder
    identity_key: SecretStr = SecretStr("")
    overlap_threshold: float = Field(default=0.6, gt=0, le=1)  # bench/overlap.py: duplicates >= 0.65, others <= 0.51
    # the duty checks (spec/staffing.md §3): 不到位 needs this many cases and an on-time rate below this; the workers
    # compute them (and 缺位, 越位, 職能交叉) into org_finding at most this often after their inputs change
    duty_min_volume: int = Field(default=20, ge=0)
    duty_min_on_time: float = Field(default=0.8, ge=0, le=1)
    duty_check_interval_seconds: float = Field(default=30.0, gt=0)
    # a new 三定 clause's suggested items: the unit's items in force at least this alike (marked unsure)
    proposal_suggest_threshold: float = Field(default=0.3, gt=0, le=1)
    # a clause read this alike (characters in one script) to one of the unit's keeps its id and items, marked unsure
    proposal_near_clause_ratio: float = Field(default=0.9, gt=0, le=1)
    # demands (spec/demands.md): a text is linked to the region's item whose name is this alike at least; a
    # deployment's own lexicon file (YAML: topic: [words], 除外, 阈值, 例句 labelled demands for the topics' model) adds
    # to streams/demands/lexicon.yaml and examples/
    demand_link_threshold: float = Field(default=0.3, gt=0, le=1)
    demand_lexicon_file: Optional[str] = None
    # demand_surge: an item's last 7 days above k times its weekly median of the 12 weeks before, and at least n
    demand_surge_k: float = Field(default=3.0, gt=0)
    demand_surge_min: int = Field(default=10, ge=1)
    demand_surge_interval_seconds: float = Field(default=300.0, gt=0)

    # The service platform the list binds (the simulator by default): base URL, bearer token, endpoints.
    platform_url: str = "http://127.0.0.1:8090"
    platform_token: SecretStr = SecretStr("")
    platform_timeout_seconds: float = Field(default=5.0, gt=0)
    platform_paths: dict[str, str] = {
        "publish": "PUT /catalog/items/{code}", "update": "PATCH /catalog/items/{code}",
        "withdraw": "POST /catalog/items/{code}/withdraw", "move": "POST /catalog/items/{code}/move",
        "catalog": "GET /catalog/items",
    }
    propagation_enabled: bool = True
    propagation_concurrency: int = Field(default=16, ge=1)
    propagation_max_backoff_seconds: float = Field(default=30.0, gt=0)
    propagation_park_after: int = Field(default=12, ge=1)
    propagation_parked_retry_seconds: float = Field(default=300.0, gt=0)
    reconcile_interval_seconds: float = Field(default=600.0, gt=0)

    alerts_enabled: bool = True
    alert_rules: Optional[Path] = None  # None: the shipped defaults (streams/alerts/default_rules.yaml)
    alert_interval_seconds: float = Field(default=15.0, gt=0)
    # each pass queries every rule's window: at most this often while events stream in
    alert_min_interval_seconds: float = Field(default=5.0, ge=0)

    # the worker that leads recomputes chains and recommendations (the last 365 days) this often; 0: never
    analysis_interval_seconds: float = Field(default=3600.0, ge=0)

    # evaluations: the scorecard (None: the shipped one); overdue rectification told again this many days over
    scorecard: Optional[Path] = None
    rectify_escalation_days: list[int] = [7, 30]
    # the admin is alerted when a year from today to this many days ahead has no holiday arrangement loaded
    calendar_horizon_days: int = Field(default=90, ge=0, le=3650)
    sim_cases_per_second: float = Field(default=0.0, ge=0, le=1000)  # `shenpi up`'s simulator sends live cases
    evidence_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # one evidence file (the types: rectify.py)

    # sheets in (权责清单, 实名制名册): a deployment's own column names (added to connectors/sheet_columns.yaml), and
    # bounds on what one workbook may hold
    sheet_aliases: Optional[Path] = None
    sheet_max_rows: int = Field(default=100_000, ge=1)
    sheet_max_unpacked_bytes: int = Field(default=200 * 1024 ** 2, ge=1024 ** 2)

    public_refresh_seconds: float = Field(default=60.0, gt=0)  # the portal's snapshots, when the data changed

    # the archive (數字檔案館): files refused over these; OCR engine (bench/ocr.py decides) and its processes per
    # worker; a page read with less confidence than archive_min_confidence is flagged for a person
    archive_max_bytes: int = Field(default=50 * 1024 ** 2, ge=1024)
    archive_max_expanded_bytes: int = Field(default=200 * 1024 ** 2, ge=1024)
    archive_max_pages: int = Field(default=5000, ge=1)
    archive_max_pixels: int = Field(default=120_000_000, ge=10_000)
    archive_ocr_engine: Literal["rapidocr", "tesseract"] = "rapidocr"
    archive_ocr_processes: int = Field(default=1, ge=1, le=16)
    archive_min_confidence: float = Field(default=0.85, ge=0, le=1)
    archive_poll_seconds: float = Field(default=1.0, gt=0)
    archive_stale_seconds: float = Field(default=900.0, gt=0)  # a document a worker took and never finished
    archive_max_attempts: int = Field(default=3, ge=1)

    grace_seconds: float = Field(default=3600.0, gt=0)
    sweep_interval_seconds: float = Field(default=5.0, gt=0)
    workers: int = Field(default=2, ge=1, le=32)  # worker processes `shenpi up` starts
    case_concurrency: int = Field(default=1, ge=1, le=16)
    take_records: int = Field(default=200, ge=1)
    take_within_seconds: float = Field(default=0.05, gt=0)
    fetch_max_wait_ms: int = Field(default=100, ge=1, le=1500)
    session_timeout_seconds: float = 6.0
    heartbeat_seconds: float = 2.0

    @property
    def case_topic(self) -> str:
        return f"{self.topic_prefix}.case-events"

    @property
    def list_topic(self) -> str:
        return f"{self.topic_prefix}.list-changes"

    @property
    def staffing_topic(self) -> str:
        return f"{self.topic_prefix}.staffing-changes"

    @property
    def demand_topic(self) -> str:
        return f"{self.topic_prefix}.demands"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic_prefix}.dead-letters"

    @property
    def violation_topic(self) -> str:
        return f"{self.topic_prefix}.violations"

    def list_admins(self) -> dict[str, str]:
        """token -> name of each list administrator."""
        out = {}
        for pair in self.list_admin_tokens.get_secret_value().split(","):
            name, _, token = pair.strip().partition(":")
            if name and token:
                out[token] = name
        return out

    def proxies(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    def identity_secret(self) -> bytes:
        """SHENPI_IDENTITY_KEY, or the deployment's own key in the state folder (made once, owner-only): every
        edge of one deployment hashes an identity number the same way, and no one can reverse it without it."""
        given = self.identity_key.get_secret_value().strip()
        if given:
            return given.encode()
        path = self.state_dir / "identity.key"
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            import os
            import secrets

            self.state_dir.mkdir(parents=True, exist_ok=True)
            try:
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                    f.write(secrets.token_hex(32))
            except FileExistsError:
                pass
            return path.read_bytes().strip()

    def secrets(self, which: SecretStr) -> list[bytes]:
        return [s.strip().encode() for s in which.get_secret_value().split(",") if s.strip()]
