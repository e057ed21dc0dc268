"""Settings, kept as data with their help text.

Each setting comes from, in order of precedence: a command-line option, the environment variable
`DAILYPAPERS_<NAME>`, a TOML file (`--config` or `DAILYPAPERS_CONFIG`), or its default.
`dailypapers settings` prints them all with where each value came from.
"""

from __future__ import annotations

import os
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str

    @property
    def env(self) -> str:
        return f"DAILYPAPERS_{self.name.upper()}"


SETTINGS = (
    Setting("db", "dailypapers.db", "Database: a SQLite file path (created if missing) or a PostgreSQL URL, "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE."),
    Setting("db_timeout", 30.0, "Seconds to wait for the database (a lock another writer holds; a server to connect "
            "or to answer) before a request answers 503 and a command fails."),
    Setting("index_dir", "", "Folder for this host's search indexes (default: beside the SQLite file, e.g. "
            "dailypapers.db-index/; for PostgreSQL ~/.cache/dailypapers/DATABASE@HOST_PORT-index/)."),
    Setting("media_dir", "", "Folder for papers' thumbnails and organizations' logos (default: beside the SQLite file, e.g. "
            "dailypapers.db-media/; for PostgreSQL ~/.cache/dailypapers/DATABASE@HOST_PORT-media/)."),
    Setting("host", "127.0.0.1", "Address `serve` listens on."),
    Setting("port", 8000, "Port `serve` listens on."),
    Setting("workers", 1, "Worker processes for `serve`."),
    Setting("public_url", "", "The site's public address, used in links in feeds and mails (default: http://HOST:PORT). "
            "With https://, session cookies are Secure and pages send HSTS."),
    Setting("forwarded_allow_ips", "", "Reverse proxies (comma-separated addresses, or *) whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed; empty: none, each client is the address that connects."),
    Setting("max_body_bytes", 1_000_000, "Largest request body taken, in bytes; larger ones get 413 before they are read (0: no limit)."),
    Setting("header_timeout", 10.0, "Seconds a client has to send a request's headers before its connection is closed."),
    Setting("max_connections", 1000, "Connections one worker holds at once; requests beyond them get 503 (0: no limit)."),
    Setting("site_name", "dailypapers", "Name shown in page titles and feeds."),
    Setting("community", "", "Who posts the papers, named atop the daily page: \"Daily Papers by COMMUNITY and the research "
            "community\" (e.g. \"the Vision Lab\"); empty: \"Daily Papers by the research community\"."),
    Setting("hf_base_url", "https://huggingface.co", "Hugging Face base URL for `ingest hf-daily --date/--since`."),
    Setting("hf_min_interval", 1.0, "Seconds between requests to Hugging Face."),
    Setting("oai_base_url", "https://oaipmh.arxiv.org/oai", "arXiv OAI-PMH endpoint for `ingest arxiv-oai`."),
    Setting("arxiv_api_url", "https://export.arxiv.org/api/query", "arXiv API endpoint that paper submissions fetch metadata from."),
    Setting("arxiv_base_url", "https://export.arxiv.org", "arXiv site that `dailypapers thumbnails` fetches PDFs from ({base}/pdf/ID); arXiv asks programs to use export.arxiv.org."),
    Setting("arxiv_min_interval", 3.0, "Seconds between requests to arXiv (arXiv asks for at least 3)."),
    Setting("sync_sets", "cs", "arXiv OAI-PMH sets that `dailypapers sync` harvests, comma-separated (empty: none)."),
    Setting("sync_first_days", 7, "Days back that the first `sync` of a site fetches."),
    Setting("sync_refresh_days", 3, "Recent days whose papers each `sync` fetches again, for their upvotes and comments."),
    Setting("sync_thumbnails", False, "Let each `sync` round also make the thumbnails of new featured papers and fetch "
            "organizations' logos, as `dailypapers thumbnails` does (needs pip install 'dailypapers[thumbnails]')."),
    Setting("sync_schedule", "", "Let `serve` run a sync round this often, e.g. 1h or 30m (empty: never; use cron)."),
    Setting("http_retries", 5, "Retries of a failed request to arXiv or Hugging Face, with growing waits."),
    Setting("query_embed_timeout", 1.0, "Seconds a search waits for its query's embedding before it answers by words alone."),
    Setting("cache_size", 512, "Rendered feed pages and API answers kept in memory per worker (0: no cache)."),
    Setting("log_level", "info", "How much `serve` logs to stderr: debug, info (one access line per request), warning, "
            "error or critical."),
    Setting("log_format", "text", "text (readable lines) or json (one JSON object per line, for log shippers)."),
    # -- accounts ---------------------------------------------------------------------------------------
    Setting("secure_cookies", False, "Mark session cookies Secure (on by itself when public_url is https)."),
    Setting("session_days", 30, "Days a login lasts."),
    Setting("signups_per_hour", 5, "Accounts one IP address may create per hour (0: no limit)."),
    Setting("logins_per_hour", 30, "Log-in attempts per hour from one IP address (0: no limit)."),
    Setting("failed_logins", 10, "Failed log-ins per hour at one account from one address (or from one browser that has logged in "
            "to it before) before that address or browser waits (0: no limit)."),
    Setting("account_failed_logins_per_day", 100, "Failed log-ins per day at one account from all addresses together, not "
            "counting browsers that have logged in to it before, which can still log in (0: no limit)."),
    Setting("password_hashes_at_once", 2, "Password hashes (argon2, 64 MiB each) one worker computes at once; log-ins "
            "beyond it wait their turn (0: no bound)."),
    Setting("votes_per_minute", 60, "Upvotes (and their withdrawals) per minute by one account (0: no limit)."),
    Setting("resets_per_hour", 5, "Password reset requests per hour from one IP address, and mails per hour to one account."),
    Setting("reset_hours", 1.0, "Hours a password reset link stays valid (it works once)."),
    Setting("submission_max_days", 14, "Only papers first published on arXiv at most this many days ago can be submitted."),
    Setting("submissions_per_hour", 10, "Paper submissions per hour by one account, and from one IP address (0: no limit)."),
    Setting("comments_per_hour", 30, "Comments (and edits) per hour by one account, and from one IP address (0: no limit)."),
    # -- email ------------------------------------------------------------------------------------------
    Setting("secret_key", "", "Key that signs the links in emails (default: a random key kept in the database)."),
    Setting("mail_from", "dailypapers <digest@localhost>", "From address of confirmation mails and digests."),
    Setting("smtp_host", "localhost", "SMTP server that delivers the mails."),
    Setting("smtp_port", 25, "SMTP port (587 for STARTTLS, 465 for TLS)."),
    Setting("smtp_security", "none", "none, starttls or tls."),
    Setting("smtp_username", "", "SMTP login (empty: none)."),
    Setting("smtp_password", "", "SMTP password."),
    Setting("smtp_timeout", 30.0, "Seconds to wait for the SMTP server."),
    Setting("smtp_connections", 2, "SMTP connections used at once by `digest send`."),
    Setting("mail_rate", 0.0, "Most mails sent per second (0: as fast as the server takes them)."),
    Setting("mail_attempts", 6, "Tries per mail before a temporary SMTP failure counts as permanent."),
    Setting("mail_retry_base", 30.0, "Seconds before the first retry of a failed mail; doubled for each further try."),
    Setting("subscribe_per_hour", 10, "Subscription requests accepted per hour from one IP address (0: no limit)."),
    Setting("confirm_hours", 48, "Hours a subscription's confirmation link stays valid."),
    Setting("digest_schedule", False, "Let `serve` send the digests itself at digest_time (else use cron)."),
    Setting("digest_time", "07:00", "Time of day (HH:MM) the scheduled digests go out."),
    Setting("digest_timezone", "UTC", "Time zone of digest_time, e.g. Europe/Berlin."),
    Setting("digest_weekday", "monday", "Day the weekly digest goes out."),
)
_BY_NAME = {s.name: s for s in SETTINGS}
SECRETS = {"secret_key", "smtp_password"}  # `dailypapers settings` does not print them
FOLLOWS_HTTPS = "public_url is https"  # the source of a value that follows from public_url
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


class Config:
    def __init__(self, overrides: dict | None = None, file: str | Path | None = None, environ=None):
        environ = os.environ if environ is None else environ
        self._given = (dict(overrides or {}), file, environ)
        file = file or environ.get("DAILYPAPERS_CONFIG")
        from_file = tomllib.loads(Path(file).read_text()) if file else {}
        unknown = set(from_file) - set(_BY_NAME)
        if unknown:
            raise ValueError(f"unknown settings in {file}: {', '.join(sorted(unknown))}")
        self.sources: dict[str, str] = {}
        self.values: dict[str, object] = {}
        for setting in SETTINGS:
            if overrides and overrides.get(setting.name) is not None:
                value, source = overrides[setting.name], "option"
            elif setting.env in environ:
                value, source = environ[setting.env], setting.env
            elif setting.name in from_file:
                value, source = from_file[setting.name], str(file)
            else:
                value, source = setting.default, "default"
            self.values[setting.name] = _coerce(setting, value)
            self.sources[setting.name] = source
        if self.sources["secure_cookies"] == "default" and self.https:
            self.values["secure_cookies"], self.sources["secure_cookies"] = True, FOLLOWS_HTTPS

    def with_overrides(self, **overrides) -> Config:
        """The same settings with these taken as command-line options (None: not given)."""
        given, file, environ = self._given
        return Config({**given, **{k: v for k, v in overrides.items() if v is not None}}, file, environ)

    def environment(self) -> dict[str, str]:
        """The settings that differ from their defaults, as DAILYPAPERS_* variables: how `serve` hands the
        whole configuration (options, file and environment alike) to its worker processes."""
        return {s.env: _text(self.values[s.name]) for s in SETTINGS if self.sources[s.name] != "default"}

    @property
    def https(self) -> bool:
        return self.public_url.lower().startswith("https://")

    def __getattr__(self, name: str):
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def site_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = socket.gethostname() if self.host in WILDCARD_HOSTS else self.host
        return f"http://{host}:{self.port}"


def as_toml(config: Config) -> str:
    """Every setting as a TOML file with its help text: the ones that differ from their defaults set, the
    others commented out at their defaults. Secrets are never written out."""
    lines = ["# dailypapers settings: `dailypapers --config FILE ...` or DAILYPAPERS_CONFIG=FILE.",
             "# An option (--set NAME=VALUE) or a variable DAILYPAPERS_<NAME> overrides a value set here.", ""]
    for setting in SETTINGS:
        value = config.values[setting.name]
        changed = config.sources[setting.name] not in ("default", FOLLOWS_HTTPS) and setting.name not in SECRETS
        shown = value if changed else setting.default
        lines += [f"# {setting.help}", f"{'' if changed else '# '}{setting.name} = {_toml(shown)}", ""]
    return "\n".join(lines)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # every address: not one a reader can be sent to


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _coerce(setting: Setting, value):
    kind = type(setting.default)
    if kind is bool and isinstance(value, str):
        if value.strip().lower() not in _BOOLEANS:
            raise ValueError(f"setting {setting.name}: {value!r} is not one of {', '.join(_BOOLEANS)}")
        return _BOOLEANS[value.strip().lower()]
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"setting {setting.name}: {value!r} is not a valid {kind.__name__}") from None
