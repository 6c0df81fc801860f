"""A throw-away PostgreSQL cluster for the tests and for CI (stdlib only).

    python -m tests.pgcluster start DIR PORT    # prints the URL, e.g. postgresql://postgres@127.0.0.1:55501/postgres
    python -m tests.pgcluster stop DIR          # stops the server and removes DIR

The cluster is built for speed, never for keeping data: `fsync`, `synchronous_commit` and
`full_page_writes` are off, every local connection is trusted, and it listens only on 127.0.0.1 and on a
unix socket inside DIR. initdb and postgres refuse to run as root, so under root (as in CI) the binaries
run as the `postgres` OS user through `runuser` and DIR is handed to that user; DIR must then be
reachable by it (a fresh directory under /tmp is; pytest's tmp_path, under a root-only directory, is not).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
from pathlib import Path

OS_USER = "postgres"  # who runs the binaries when we are root
WAIT_SECONDS = 30  # pg_ctl -w -t: how long start and stop may take
MAX_CONNECTIONS = 200  # several app instances, each with a pool, plus the fixtures' own connections
MARKER = ".pgcluster"  # stop() removes only a directory that start() made
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": str(MAX_CONNECTIONS),
    "shared_buffers": "'128MB'",
    "log_min_messages": "warning",
    "log_statement": "none",
    "timezone": "'UTC'",
}


class ClusterError(RuntimeError):
    """The cluster could not be created, started or stopped; the message says why (with the server log)."""


def bindir() -> Path | None:
    """The directory of initdb, pg_ctl and postgres: `pg_config --bindir`, else the newest
    /usr/lib/postgresql/*/bin; None when the server is not installed (pg_config alone comes with libpq-dev)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versions), key=lambda p: _version(p.parent.name), reverse=True)
    for d in candidates:
        if all(os.access(d / b, os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def _version(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in name.split("."))
    except ValueError:
        return (0,)


def url(port: int) -> str:
    """The URL of a cluster on port: over TCP, trusted, superuser postgres, database postgres."""
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}   # PostgreSQL's defaults


def start(base_dir: str | os.PathLike[str], port: int, durable: bool = False) -> str:
    """Create and start a cluster in base_dir (created if missing; must hold no cluster yet) on port.
    `durable`: with PostgreSQL's durable defaults (what a benchmark of a deployment needs), not fast.

    Returns its URL. Raises ClusterError with the reason and the server log's tail when it cannot; call
    stop(base_dir) then too, to remove what was made.
    """
    bins = bindir()
    if bins is None:
        raise ClusterError("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    base = Path(base_dir).resolve()
    data, sock, log = base / "data", base / "sock", base / "log"
    if data.exists():
        raise ClusterError(f"{data} exists already: stop that cluster first")
    if len(str(sock / f".s.PGSQL.{port}")) > 100:
        raise ClusterError(f"{base} is too long a path for a unix socket inside it; use a shorter directory")
    base.mkdir(parents=True, exist_ok=True)
    (base / MARKER).write_text(f"{port}\n")
    for d in (sock, log):
        d.mkdir(exist_ok=True)
    _hand_over(base)
    _initdb(bins, data, base)
    settings = {**_SETTINGS, **(DURABLE if durable else {}), "port": str(port), "unix_socket_directories": f"'{sock}'"}
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\n# tests/pgcluster.py: a throw-away cluster, fast and never durable\n")
        conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
    res = _run([str(bins / "pg_ctl"), "start", "-D", str(data), "-l", str(log / "postgres.log"),
                "-w", "-t", str(WAIT_SECONDS)], cwd=base)
    if res.returncode != 0:
        raise ClusterError(f"pg_ctl start failed on port {port}: {res.stdout}{res.stderr}{_log_tail(base)}")
    return url(port)


def stop(base_dir: str | os.PathLike[str]) -> None:
    """Stop the cluster in base_dir (fast, then immediate, then SIGKILL of its postmaster) and remove
    base_dir. Nothing to do when base_dir is gone; refuses a directory that start() did not make."""
    base = Path(base_dir).resolve()
    if not base.exists():
        return
    if not (base / MARKER).exists():
        raise ClusterError(f"{base} was not made by tests/pgcluster.py start; not removing it")
    data = base / "data"
    bins = bindir()
    if bins is not None and (data / "postmaster.pid").exists():
        for mode in ("fast", "immediate"):
            res = _run([str(bins / "pg_ctl"), "stop", "-D", str(data), "-m", mode, "-w", "-t", str(WAIT_SECONDS)],
                       cwd=base)
            if res.returncode == 0 or not (data / "postmaster.pid").exists():
                break
    _kill_leftover(data)
    shutil.rmtree(base)


def _kill_leftover(data: Path) -> None:
    """SIGKILL the postmaster named in data/postmaster.pid if it is still alive (only ours: it is our file)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _initdb(bins: Path, data: Path, base: Path) -> None:
    """initdb with C.UTF-8 (byte order, UTF-8 text), or plain C where that locale is missing."""
    errors = []
    for locale in ("C.UTF-8", "C"):
        res = _run([str(bins / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
                    "-E", "UTF8", f"--locale={locale}"], cwd=base)
        if res.returncode == 0:
            return
        errors.append(f"--locale={locale}: {res.stdout}{res.stderr}")
        if data.exists():
            shutil.rmtree(data)
    raise ClusterError("initdb failed:\n" + "\n".join(errors))


def _as_root() -> bool:
    return os.geteuid() == 0


def _hand_over(base: Path) -> None:
    """Under root, give base (and what start() made in it) to the postgres user and check it can reach it."""
    if not _as_root():
        return
    try:
        owner = pwd.getpwnam(OS_USER)
    except KeyError as e:
        raise ClusterError(f"running as root needs the {OS_USER} OS user (the postgresql package makes it)") from e
    for p in (base, *base.iterdir()):
        os.chown(p, owner.pw_uid, owner.pw_gid)
    os.chmod(base, 0o700)
    if _run(["test", "-w", str(base), "-a", "-x", str(base)], cwd=Path("/")).returncode != 0:
        raise ClusterError(f"the {OS_USER} user cannot reach {base}: a parent directory is closed to it "
                           "(use a fresh directory under /tmp)")


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """cmd as the postgres user when we are root, else as ourselves; bounded in time."""
    if _as_root():
        cmd = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", OS_USER, "--", *cmd]
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=WAIT_SECONDS * 2, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise ClusterError(f"{' '.join(cmd)} took over {WAIT_SECONDS * 2} s") from e


def _log_tail(base: Path, chars: int = 2000) -> str:
    try:
        text = (base / "log" / "postgres.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n--- server log (tail) ---\n" + text[-chars:]


def main(argv: list[str]) -> int:
    usage = "usage: python -m tests.pgcluster start DIR PORT | stop DIR"
    try:
        if len(argv) == 3 and argv[0] == "start":
            print(start(argv[1], int(argv[2])))
        elif len(argv) == 2 and argv[0] == "stop":
            stop(argv[1])
        else:
            print(usage, file=sys.stderr)
            return 2
    except (ClusterError, ValueError) as e:
        print(f"pgcluster: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
