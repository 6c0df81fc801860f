"""TOML config plus MINSHENG_* environment variables, turned into typed settings.

Every key is documented in config.example.toml. Environment variables override the file:
MINSHENG_<SECTION>_<KEY>, e.g. MINSHENG_WECHAT_APP_SECRET.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_ORG = REPO_ROOT / "org.example.toml"


class ConfigError(ValueError):
    """A config file or variable that cannot be used, with a message saying why."""


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    max_body_bytes: int = 1024 * 1024
    admin_token: str = ""             # no longer opens /admin (per-person accounts do); warned about at start
    header_timeout: float = 10.0      # seconds a client has to send a request's headers
    body_timeout: float = 10.0        # seconds a client has to send a request's body
    max_connections: int = 512        # open connections at once; more are closed at once
    max_connections_per_client: int = 128   # from one address (0: no cap; behind a proxy that caps)


@dataclass
class StorageSettings:
    path: str = "data/minsheng.db"    # the SQLite file (and beside it the intake journal)
    url: str = ""                     # postgresql://… for PostgreSQL; sqlite:///path or "" for SQLite at path
    lease_seconds: float = 15         # PostgreSQL: an instance holds the messages it journalled this
                                      # long past its last sign of life; then another takes them over

    @property
    def target(self) -> str:
        """What storage.db.open_db opens: the PostgreSQL URL, else the SQLite path."""
        return self.url or self.path


def _check_storage(storage: StorageSettings) -> None:
    """[storage] url: empty, sqlite:///path (the same as path = "path") or postgresql://…"""
    from storage.db import sqlite_path

    url = storage.url.strip()
    if url.startswith("sqlite://"):
        storage.path = sqlite_path(url) or storage.path
        url = ""
    elif url and not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("[storage] url: expected sqlite:///path or postgresql://…")
    storage.url = url


@dataclass
class OrgSettings:
    file: str = ""


@dataclass
class WechatSettings:
    app_id: str = ""
    app_secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    template_id: str = ""
    timeout: float = 5.0
    mode: str = ""                    # safe | compatible | plain; "" = safe with an AES key, else plain
    original_id: str = ""             # the account's gh_ id: callbacks to another ToUserName are refused

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def encrypted(self) -> bool:
        """Safe and compatible modes: only AES callbacks with a valid msg_signature are read."""
        return self.mode in ("safe", "compatible")


@dataclass
class WecomSettings:
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    webhook_url: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    timeout: float = 5.0

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.encoding_aes_key and self.corp_id)


@dataclass
class SimulatorSettings:
    enabled: bool = True
    # beside a real channel the simulator stays off unless this is set too (a test deployment); it
    # then refuses to speak as any roster userid or Official Account openid
    test_deployment: bool = False


@dataclass
class LimitSettings:
    max_text_chars: int = 2000        # longer messages are cut here; the reply says what was cut
    sender_messages: int = 20         # a resident's messages handled one by one within sender_window
    sender_window_seconds: float = 60  # past that, the rest is kept but not answered one by one


@dataclass
class OutboxSettings:
    retry_hours: float = 24           # a message is retried this long before it is shown as failed
    max_delay_seconds: float = 600    # the longest wait between two attempts
    claim_seconds: float = 60         # a row being sent is this instance's for this long (at least
                                      # twice the longest send); past it another instance may send it


@dataclass
class EmergencySettings:
    fire: str = "119"
    ambulance: str = "120"
    police: str = "110"
    gas: str = "96777"
    lift: str = "96333"


@dataclass
class TimeLimitSettings:
    sign_for_hours: float = 2
    feedback_hours: float = 24
    resolve_working_days: float = 3
    utilities_hours: float = 24
    urgent_hours: float = 2
    emergency_sign_for_minutes: float = 15   # sign-for of an urgent (emergency) petition, wall-clock minutes
    sign_for_working_hours: bool = True      # ordinary sign-for counts working hours; urgent never does
    category_resolve_hours: dict = field(default_factory=dict)         # code -> wall-clock hours
    category_resolve_working_days: dict = field(default_factory=dict)  # code -> working days
    remind_at_fraction: float = 0.75         # the worker is reminded when this share of a limit is used
    staff_escalation_hours: float = 4        # after the grid head was told, this long until staff are
    urge_factor: float = 0.5                 # each 催办 multiplies the time left before the next escalation
    followup_after_hours: float = 24         # one rating reminder this long after resolution
    autoclose_days: float = 3                # no rating this long after resolution -> closed as 未评价


@dataclass
class CalendarSettings:
    working_hours: list = field(default_factory=lambda: ["08:30-12:00", "14:00-17:30"])
    weekdays: list = field(default_factory=lambda: [1, 2, 3, 4, 5])   # ISO weekdays, Monday = 1
    holidays: list = field(default_factory=list)   # "YYYY-MM-DD" days off (法定节假日)
    workdays: list = field(default_factory=list)   # "YYYY-MM-DD" make-up working days (调休上班)


@dataclass
class ScheduleSettings:
    enabled: bool = True
    tick_seconds: float = 60
    weekly_report_weekday: int = 1            # ISO weekday, Monday = 1
    weekly_report_time: str = "09:00"


@dataclass
class DeliberationSettings:
    duplicate_window_days: float = 14
    duplicate_score: float = 72
    topic_households: int = 5
    participation: str = "2/3"
    approval: str = "3/4"
    disclosure_days: float = 15


@dataclass
class VolunteerSettings:
    party_code: str = ""
    observer_radius_m: float = 300
    location_fresh_minutes: float = 30


@dataclass
class DeskSettings:
    """The workbench at /admin (bot/web/desk)."""
    session_secret: str = ""          # Fernet key (32 url-safe base64 bytes); empty: a new one per start
    session_hours: float = 10         # a login lasts this long
    lockout_failures: int = 5         # wrong passwords in a row that lock an account
    lockout_minutes: float = 15       # for this long
    map_tiles: str = ""               # a tile URL template ({z}/{x}/{y}) for the map; empty: a schematic


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    org: OrgSettings = field(default_factory=OrgSettings)
    wechat: WechatSettings = field(default_factory=WechatSettings)
    wecom: WecomSettings = field(default_factory=WecomSettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    emergency: EmergencySettings = field(default_factory=EmergencySettings)
    time_limits: TimeLimitSettings = field(default_factory=TimeLimitSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    deliberation: DeliberationSettings = field(default_factory=DeliberationSettings)
    volunteers: VolunteerSettings = field(default_factory=VolunteerSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    desk: DeskSettings = field(default_factory=DeskSettings)
    timezone: str = "Asia/Shanghai"
    source: str = "demo"

    @property
    def org_path(self) -> Path:
        return Path(self.org.file) if self.org.file else DEMO_ORG

    @property
    def has_real_channel(self) -> bool:
        """Anything configured towards WeChat or WeCom: no longer the demo."""
        w, c = self.wechat, self.wecom
        return any((w.token, w.app_id, w.app_secret, w.encoding_aes_key, c.token, c.corp_id, c.secret,
                    c.encoding_aes_key))

    @property
    def simulator_on(self) -> bool:
        """The demo (no real channel) runs the simulator; beside a real channel only a test deployment."""
        if not self.simulator.enabled:
            return False
        return not self.has_real_channel or self.simulator.test_deployment


def _coerce(section: str, key: str, value: Any, default: Any) -> Any:
    kind = type(default)
    try:
        if kind is list:
            return _coerce_list(value)
        if kind is dict:
            return _coerce_dict(section, key, value)
        if kind is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind in (int, float):
            return kind(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"[{section}] {key}: expected {kind.__name__}, got {value!r}") from None


def _coerce_list(value: Any) -> list:
    """A TOML array, or a comma-separated environment value."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise TypeError(value)
    return list(value)


def _coerce_dict(section: str, key: str, value: Any) -> dict:
    """A table of numbers, e.g. category_resolve_hours = { utilities = 24 }."""
    if not isinstance(value, dict):
        raise TypeError(value)
    try:
        return {str(k): float(v) for k, v in value.items()}
    except (TypeError, ValueError):
        raise ConfigError(f"[{section}] {key}: expected a table of numbers, got {value!r}") from None


def _check_clock(settings: Settings) -> None:
    """The calendar, time zone and report time must be usable before anything is scheduled."""
    from bot.workcal import WorkCalendar

    try:
        tz = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {settings.timezone!r}") from None
    cal = settings.calendar
    try:
        WorkCalendar.build(cal.working_hours, cal.weekdays, cal.holidays, cal.workdays, tz)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[calendar] {exc}") from None
    try:
        datetime.strptime(settings.schedule.weekly_report_time, "%H:%M")
    except ValueError:
        raise ConfigError("[schedule] weekly_report_time: expected HH:MM") from None
    if not 1 <= settings.schedule.weekly_report_weekday <= 7:
        raise ConfigError("[schedule] weekly_report_weekday: expected 1 (Monday) to 7 (Sunday)")


def _check_mode(wechat: WechatSettings) -> None:
    """[wechat] mode: safe by default when an AES key is set; encrypted modes need the key."""
    mode = wechat.mode.strip().lower() or ("safe" if wechat.encoding_aes_key else "plain")
    if mode not in ("safe", "compatible", "plain"):
        raise ConfigError(f"[wechat] mode: expected safe, compatible or plain, got {wechat.mode!r}")
    if mode != "plain" and not wechat.encoding_aes_key:
        raise ConfigError(f"[wechat] mode {mode} needs encoding_aes_key")
    wechat.mode = mode


def _check_limits(settings: Settings) -> None:
    s, lim = settings.server, settings.limits
    if lim.max_text_chars < 1 or lim.sender_messages < 1 or lim.sender_window_seconds <= 0:
        raise ConfigError("[limits] values must be positive")
    if s.header_timeout <= 0 or s.body_timeout <= 0 or s.max_connections < 1 or s.max_connections_per_client < 0:
        raise ConfigError("[server] header_timeout, body_timeout and max_connections must be positive")
    if settings.outbox.retry_hours <= 0 or settings.outbox.max_delay_seconds <= 0:
        raise ConfigError("[outbox] retry_hours and max_delay_seconds must be positive")


def _apply(settings: Settings, data: dict[str, Any], origin: str) -> None:
    for section_name, values in data.items():
        if section_name == "timezone":
            settings.timezone = str(values)
            continue
        section = getattr(settings, section_name, None)
        if section is None or not isinstance(values, dict):
            raise ConfigError(f"{origin}: unknown section [{section_name}]")
        known = {f.name: f for f in fields(section)}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{origin}: unknown key [{section_name}] {key}")
            setattr(section, key, _coerce(section_name, key, value, getattr(section, key)))


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    sections = {f.name for f in fields(Settings) if f.name not in ("timezone", "source")}
    for name, value in environ.items():
        if not name.startswith("MINSHENG_"):
            continue
        rest = name[len("MINSHENG_"):].lower()
        for section in sections:
            if rest.startswith(section + "_"):
                out.setdefault(section, {})[rest[len(section) + 1:]] = value
                break
    return out


def load_settings(
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build settings from defaults, then the file, then MINSHENG_* variables, then overrides."""
    settings = Settings()
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        _apply(settings, data, str(p))
        settings.source = str(p)
        if settings.org.file and not Path(settings.org.file).is_absolute():
            settings.org.file = str((p.parent / settings.org.file).resolve())
    _apply(settings, _env_overrides(dict(os.environ if environ is None else environ)), "environment")
    if overrides:
        _apply(settings, overrides, "overrides")
    if settings.wechat.encoding_aes_key and len(settings.wechat.encoding_aes_key) != 43:
        raise ConfigError("[wechat] encoding_aes_key must be 43 characters")
    if settings.wecom.encoding_aes_key and len(settings.wecom.encoding_aes_key) != 43:
        raise ConfigError("[wecom] encoding_aes_key must be 43 characters")
    _check_mode(settings.wechat)
    _check_storage(settings.storage)
    _check_limits(settings)
    _check_clock(settings)
    return settings
