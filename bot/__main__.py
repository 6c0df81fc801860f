"""The `minsheng` command: serve, classify, org import, stats, export, staff passwd, db migrate, db copy."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import ConfigError, Settings, load_settings
from language.texts import t


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app import create_app, tune_gc
    from bot.serve import serve

    settings = _settings(args)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    mode = "demo community on the simulator" if settings.source == "demo" else settings.source
    logging.getLogger("minsheng").info("serving %s at http://%s:%s", mode, host, port)
    app = create_app(settings)
    tune_gc()
    serve(app, settings, host, port)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from language.intents import default_matcher

    matcher = default_matcher()
    for line in sys.stdin:
        raw = line.rstrip("\n")
        if not raw.strip():
            continue
        text = raw
        if raw.lstrip().startswith("{"):
            try:
                obj = json.loads(raw)
                text = str(obj.get("text", "")) if isinstance(obj, dict) else raw
            except json.JSONDecodeError:
                text = raw
        m = matcher.classify(text)
        print(json.dumps({"text": text, "intent": m.intent, "category": m.category if m.intent == "report" else None,
                          "confidence": round(m.confidence, 3)}, ensure_ascii=False))
    return 0


def cmd_org_import(args: argparse.Namespace) -> int:
    from bot.app import open_store
    from storage import org

    db = open_store(_settings(args))
    counts = org.load_file(db, args.file)
    print(t("cli.imported", counts=t("cli.list_sep").join(
        t("plain.count", kind=t(f"plain.kinds.{k}"), count=v) for k, v in counts.items() if v or not any(counts.values()))))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from bot.app import open_store
    from handlers import bulletin
    from storage import stats

    settings = _settings(args)
    since, until, now = _period(args, settings)
    db = open_store(settings)
    numbers = stats.summary(db, since, until, now=now)
    if args.json:
        print(json.dumps(numbers, ensure_ascii=False, indent=2))
    else:   # the same words as the weekly report staff receive, with grid and worker names
        print(bulletin.render(db, numbers, _day(since), _day(until)))
    return 0


def _day(bound: datetime | None) -> str:
    return bound.strftime(t("plain.date")) if bound else t("plain.open_end")


def _period(args: argparse.Namespace, settings: Settings) -> tuple[datetime | None, datetime | None, datetime]:
    """--since (inclusive) and --until (exclusive) as dates or times in the configured zone; overdue
    petitions are judged at --until when it is in the past, else now."""
    from storage.stats import parse_bound

    tz = ZoneInfo(settings.timezone)
    try:
        since = parse_bound(args.since, tz) if args.since else None
        until = parse_bound(args.until, tz) if args.until else None
    except ValueError as exc:
        raise ConfigError(f"--since/--until: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM ({exc})") from None
    now = datetime.now(tz)
    return since, until, min(now, until) if until else now


def cmd_export(args: argparse.Namespace) -> int:
    from bot.app import open_store
    from storage import ledger

    settings = _settings(args)
    if args.format == "xlsx" and args.out == "-":
        raise ConfigError("xlsx cannot go to stdout; give --out FILE.xlsx")
    since, until, now = _period(args, settings)
    db = open_store(settings)
    ledger.export(db, args.format, args.out, since, until, now=now)
    # the ledger holds residents' names and phones: who exported it is kept, as for the workbench's button
    from storage import accounts
    from storage.db import transaction

    with transaction(db):
        accounts.audit(db, now, "cli", "export", args.out, f"{args.format} {args.since or ''}-{args.until or ''}")
    return 0


def cmd_db_migrate(args: argparse.Namespace) -> int:
    """Apply the configured engine's migrations (SPEC §11); print each one applied now."""
    from storage.db import migrate_target, sqlite_path

    target = _settings(args).storage.target
    applied = migrate_target(target)
    for name in applied:
        print(t("cli.migrated", name=name))
    if not applied:
        print(t("cli.migrated_none", engine="SQLite" if sqlite_path(target) else "PostgreSQL"))
    return 0


def cmd_db_copy(args: argparse.Namespace) -> int:
    """Move a store (SQLite) into another, empty one (PostgreSQL): every row; derived tables rebuilt."""
    from storage import copy
    from storage.db import open_db, sqlite_path

    if sqlite_path(args.source) is None:
        raise ConfigError("db copy: --from must be a SQLite store (sqlite:///path or a path)")
    source, target = open_db(args.source), open_db(args.to)
    try:
        counts = copy.copy(source, target)
    except copy.CopyError as exc:
        print(t("cli.copy_refused", error=exc), file=sys.stderr)
        return 2
    finally:
        source.conn.close()
        target.conn.close()
    print(t("cli.copied", rows=sum(counts.values()), tables=len(counts)))
    return 0


def _read_password() -> str | None:
    """Twice at a terminal (not echoed); from a pipe, the first line (a second line must match it)."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass(t("cli.password_prompt"))
        return first if getpass.getpass(t("cli.password_again")) == first else None
    lines = sys.stdin.read().splitlines()
    if not lines or (len(lines) > 1 and lines[1] != lines[0]):
        return None
    return lines[0]


def cmd_staff_passwd(args: argparse.Namespace) -> int:
    """Set a roster staff member's workbench password (argon2); their earlier logins end."""
    from bot.app import open_store
    from bot.clock import Clock
    from bot.web.desk.auth import hash_password
    from bot.web.desk.people import MAX_PASSWORD, MIN_PASSWORD
    from storage import accounts
    from storage.db import transaction

    db = open_store(_settings(args))
    if accounts.person(db, args.userid) is None:
        print(t("cli.staff_unknown", userid=args.userid), file=sys.stderr)
        return 2
    password = _read_password()
    if password is None:
        print(t("cli.password_mismatch"), file=sys.stderr)
        return 2
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        print(t("desk.accounts.too_short", count=MIN_PASSWORD), file=sys.stderr)
        return 2
    with transaction(db):
        accounts.set_password(db, args.userid, hash_password(password), Clock().now())
        accounts.audit(db, Clock().now(), "cli", "set_password", args.userid)
    print(t("desk.accounts.password_set", userid=args.userid))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minsheng", description="Minsheng: community petitions over WeChat")
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--config", help="config TOML (default: the demo community)")
        return sp

    serve = with_config(sub.add_parser("serve", help="run the server"))
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(fn=cmd_serve)
    sub.add_parser("classify", help="classify lines or JSON lines from stdin").set_defaults(fn=cmd_classify)
    org_p = sub.add_parser("org", help="organisation")
    org_sub = org_p.add_subparsers(dest="org_command", required=True)
    imp = with_config(org_sub.add_parser("import", help="import an org TOML or a CSV/XLSX roster"))
    imp.add_argument("file")
    imp.set_defaults(fn=cmd_org_import)
    st = with_config(sub.add_parser("stats", help="numbers: received, response, completion and satisfaction rates ..."))
    st.add_argument("--json", action="store_true")
    st.add_argument("--since", help="first day (or time) of the period, inclusive: YYYY-MM-DD[THH:MM]")
    st.add_argument("--until", help="end of the period, exclusive: YYYY-MM-DD[THH:MM]")
    st.set_defaults(fn=cmd_stats)
    ex = with_config(sub.add_parser("export", help="export the ledger"))
    ex.add_argument("--format", choices=("csv", "xlsx"), required=True)
    ex.add_argument("--out", required=True, help="file, or - for stdout (csv)")
    ex.add_argument("--since", help="petitions received from this day (or time), inclusive: YYYY-MM-DD[THH:MM]")
    ex.add_argument("--until", help="petitions received before this day (or time), exclusive")
    ex.set_defaults(fn=cmd_export)
    db_p = sub.add_parser("db", help="the store")
    db_sub = db_p.add_subparsers(dest="db_command", required=True)
    with_config(db_sub.add_parser("migrate", help="apply the storage engine's migrations")).set_defaults(fn=cmd_db_migrate)
    cp = db_sub.add_parser("copy", help="move a SQLite store into an empty store (PostgreSQL)")
    cp.add_argument("--from", dest="source", required=True, help="sqlite:///path (or a path)")
    cp.add_argument("--to", dest="to", required=True, help="postgresql://... (an empty database)")
    cp.set_defaults(fn=cmd_db_copy)
    staff_p = sub.add_parser("staff", help="workbench accounts")
    staff_sub = staff_p.add_subparsers(dest="staff_command", required=True)
    pw = with_config(staff_sub.add_parser("passwd", help="set a staff member's workbench password (from stdin)"))
    pw.add_argument("userid")
    pw.set_defaults(fn=cmd_staff_passwd)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line a minute says nothing
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except ConfigError as exc:
        print(t("cli.config_error", error=exc), file=sys.stderr)
        return 2
    except Exception as exc:
        from storage.org import OrgError

        if isinstance(exc, OrgError):
            print(t("cli.org_error", error=exc), file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
