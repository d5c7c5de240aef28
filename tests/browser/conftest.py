"""Browser tests: Playwright drives Debian's chromium against a real gunicorn server, a
real Celery worker and the real PostgreSQL and Redis (DESIGN.md section 10).

One server and one worker per test process (so per pytest-xdist worker, each on a free
port), started on first use and shared by every browser test of that process. They use
the test database and this process's Redis database, so data a test commits (the
`committed` fixture) is what the browser sees, and what the browser does is in the
database for the test to assert. Email goes to files (`outbox`).

Without a chromium the tests are skipped and the summary says how to install one
(tests/browser/summary.py); under
CI=true they fail instead, so CI never passes without having run them."""

from __future__ import annotations

import email
import email.policy
import functools
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Organization
from shared_apps.tenants.services import membership_add, organization_create
from tests.browser.summary import SKIP_REASON, chromium_executable

BROWSER_DIR = Path(__file__).resolve().parent
ROOT = BROWSER_DIR.parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
# Keep chromium off the network: no component updates, sync, safe-browsing lists or
# field trials (the machine has no route out, and a test must not wait on one).
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
# Every wait of a browser test is bounded well below a hung CI run, with room for a busy
# machine (two cores shared by the whole suite); the live-update test sets its own 5 s.
ACTION_TIMEOUT_MS = 15_000
expect.set_options(timeout=10_000)
PASSWORD = "browser-test-pw-1"
ATTACHMENT_LIMIT = 1024 * 1024


CHROMIUM = chromium_executable()


# --- pytest hooks ----------------------------------------------------------------------


def pytest_configure(config) -> None:
    # pytest-playwright's `base_url` fixture (from pytest-base-url) trips a pytest 9
    # deprecation that is theirs to fix, not a fault of these tests.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"
    )


# No xdist group: the browser tests are handed out one by one like any other test, so they
# run side by side on every test process; each process that gets one starts its own
# server, worker and browser (the `tessera` fixture is per process), at most one per xdist
# worker. (xdist 3.8's groups do not work with pytest 9.2 anyway: xdist renames
# `item._nodeid`, which pytest 9 no longer reads, so a group mark is silently ignored.)


def pytest_runtest_setup(item) -> None:
    """Runs before any fixture of a browser test (runtest hooks of this file apply only to
    the tests under it)."""
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is missing under CI=true: .ci/run installs it (apt-get install chromium)")
        pytest.skip(SKIP_REASON)
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls
    # when a loop is running unless told it is safe. It is here: the loop only drives the
    # browser, and the test's queries run synchronously between browser calls.
    # https://docs.djangoproject.com/en/5.2/topics/async/#envvar-DJANGO_ALLOW_ASYNC_UNSAFE
    # Left set once a browser test ran: the Playwright loop lives until the session ends.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


# --- the browser (pytest-playwright's fixtures, pointed at Debian's chromium) ------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    args = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        # Chromium's sandbox refuses to run as root (CI runs as root).
        args.append("--no-sandbox")
    # Playwright gives every launch a fresh temporary profile (user-data-dir) of its own.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": args}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "locale": "en-US",
        "timezone_id": "UTC",
        "accept_downloads": True,
    }


# --- the server and the worker ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_database_url() -> str:
    """DATABASE_URL naming the test database (pytest-django has switched the settings to
    it by now; per xdist worker, e.g. test_tessera_gw0)."""
    db = settings.DATABASES["default"]
    base = os.environ.get("DATABASE_URL")
    if base:
        return urlunsplit(urlsplit(base)._replace(path=f"/{db['NAME']}"))
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Process:
    """A child process with its output in a log file; stopped (and waited for) on close."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log_tail(self, size: int = 4000) -> str:
        return self.log_path.read_bytes()[-size:].decode(errors="replace")

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")

    def terminate(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log.close()


@dataclass
class Tessera:
    """The running server: URLs of the root domain and of organisations."""

    port: int
    mail_dir: Path

    def url(self, path: str = "/", *, slug: str | None = None) -> str:
        host = f"{slug}.{settings.BASE_DOMAIN}" if slug else settings.BASE_DOMAIN
        return f"http://{host}:{self.port}{path}"

    def host_origin(self, slug: str | None = None) -> str:
        return self.url("", slug=slug)


def _wait_until(check: Callable[[], bool], *, seconds: float, what: str, process: Process) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        process.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {seconds:.0f}s:\n{process.log_tail()}")
        time.sleep(0.2)


def _http_answers(port: int) -> bool:
    """Whether gunicorn serves a request: its master binds the port before its workers have
    loaded Django, so an open port alone is not ready (a browser's first page then waited
    out its timeout on a loaded machine). Any HTTP answer counts."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/", headers={"Host": settings.BASE_DOMAIN})
        return connection.getresponse().status > 0
    except OSError:
        return False
    finally:
        connection.close()


# The server's own queue and control exchange (tests/browser/server_settings.py).
BROWSER_CONTROL_EXCHANGE = "celery-browser"


def _browser_queue() -> str:
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}-browser"


def _worker_answers() -> bool:
    """Whether the server's worker answers a ping on its own control exchange
    (tests/browser/server_settings.py)."""
    from celery import Celery

    probe = Celery(set_as_current=False, broker=settings.CELERY_BROKER_URL)
    probe.conf.control_exchange = BROWSER_CONTROL_EXCHANGE
    try:
        return bool(probe.control.ping(timeout=0.5))
    finally:
        probe.close()


def _end_other_sessions(django_db_blocker) -> None:
    """The test database can only be dropped without other sessions. A stopped process's
    sessions end a moment after it does; an idle one this process left in another
    execution context (Playwright's greenlet) is ended here."""
    from django.db import connection

    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for _attempt in range(10):
            cursor.execute(f"SELECT count(*) {others}")
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)
        cursor.execute(f"SELECT pg_terminate_backend(pid) {others}")


@pytest.fixture(scope="session")
def tessera(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Tessera]:
    """gunicorn serving config.wsgi (sync workers, as deployed: platform/gunicorn.conf.py)
    and a Celery worker, both on this test process's database, Redis and media."""
    run_dir = tmp_path_factory.mktemp("tessera-browser")
    mail_dir = run_dir / "mail"
    mail_dir.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.browser.server_settings",
        "DATABASE_URL": _test_database_url(),
        "TESSERA_TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "TESSERA_BROWSER_MAIL_DIR": str(mail_dir),
        # Links in emails and redirects into an organisation carry the server's port.
        "TESSERA_SITE_PORT": str(port),
        # The same Redis database, cache prefixes and queue as this process
        # (config/settings/test.py derives them from the xdist worker's name).
        "PYTEST_XDIST_WORKER": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "GUNICORN_WORKERS": "3",
        "TESSERA_BROWSER_QUEUE": _browser_queue(),
        "TESSERA_BROWSER_CONTROL_EXCHANGE": BROWSER_CONTROL_EXCHANGE,
        # A small attachment limit, so the tests can go over it without moving 25 MB.
        "TESSERA_ATTACHMENT_MAX_BYTES": str(ATTACHMENT_LIMIT),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = Process(
        "gunicorn",
        [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--config", str(ROOT / "platform" / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}",
        ],
        env,
        run_dir,
    )  # fmt: skip
    worker = Process(
        "celery",
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "WARNING", "--hostname", f"browser-{env['PYTEST_XDIST_WORKER']}@%h",
        ],
        env,
        run_dir,
    )  # fmt: skip
    try:
        # Bounds, not sleeps: on a loaded machine (two cores, several processes each
        # booting Django at once) a worker took over 60 s to answer its first ping.
        _wait_until(lambda: _http_answers(port), seconds=180, what="gunicorn", process=server)
        _wait_until(_worker_answers, seconds=180, what="the Celery worker", process=worker)
        yield Tessera(port=port, mail_dir=mail_dir)
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            process.stop()
        _end_other_sessions(django_db_blocker)


@pytest.fixture(autouse=True)
def _broker_routes(tessera: Tessera) -> None:
    """Other tests flush this process's Redis database after each test (tests/conftest.py),
    which also drops the broker's queue bindings: declare them again, so what the server
    enqueues reaches the worker."""
    from kombu import Exchange, Queue

    from config.celery import app

    with app.connection_for_write() as connection:
        name = _browser_queue()
        # Celery's default exchange and routing key are the queue's name.
        Queue(name, Exchange(name, type="direct"), routing_key=name).bind(connection.default_channel).declare()


@pytest.fixture(autouse=True)
def _enqueue_to_the_server(monkeypatch) -> None:
    """What a browser test writes through the services in this process (seeding, a second
    person's change) is processed by the server's worker, as the server's own writes are."""
    from celery.app.task import Task

    original = Task.apply_async
    queue = _browser_queue()

    def apply_async(self, *args, **kwargs):
        kwargs.setdefault("queue", queue)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Task, "apply_async", apply_async)


# --- email -----------------------------------------------------------------------------


class Outbox:
    """Email the server and the worker sent (Django's file backend: one file per
    connection, messages separated by a line of 79 dashes)."""

    SEPARATOR = re.compile(rb"^-{79}$", re.MULTILINE)

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def clear(self) -> None:
        for path in self.directory.iterdir():
            path.unlink()

    def messages(self) -> list[EmailMessage]:
        found = []
        for path in sorted(self.directory.iterdir()):
            for chunk in self.SEPARATOR.split(path.read_bytes()):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk.strip(), policy=email.policy.default))
        return found

    def wait_for(self, *, to: str, seconds: float = 15) -> EmailMessage:
        deadline = time.monotonic() + seconds
        while True:
            for message in self.messages():
                if to in str(message["To"]):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no email to {to} within {seconds}s (have: {[m['To'] for m in self.messages()]})")
            time.sleep(0.2)

    @staticmethod
    def text(message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain", "html"))
        return body.get_content() if body is not None else ""

    def link(self, message: EmailMessage, pattern: str) -> str:
        """The first URL in the message's text that contains `pattern`."""
        for url in re.findall(r"https?://[^\s<>\"']+", self.text(message)):
            if pattern in url:
                return url
        raise AssertionError(f"no link containing {pattern!r} in:\n{self.text(message)}")


@pytest.fixture
def outbox(tessera: Tessera) -> Outbox:
    box = Outbox(tessera.mail_dir)
    box.clear()
    return box


# --- people, organisations and logged-in browsers ---------------------------------------


@dataclass
class Workspace:
    """An organisation of this test with an owner, a member and a viewer (an organisation
    member who is given the Viewer role on the projects a test creates)."""

    tessera: Tessera
    organization: Organization
    owner: User
    member: User
    viewer: User
    extra: dict[str, User] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.organization.slug

    def url(self, path: str = "/") -> str:
        return self.tessera.url(path, slug=self.slug)

    def schema(self):
        """`with workspace.schema():` queries the organisation's tables."""
        return schema_context(self.organization.schema_name)

    def member_of(self, user: User):
        from tenant_apps.members.models import Member

        return Member.objects.get(user_id=user.pk)

    def project_seed(self, *, key: str = "WEB", name: str = "Website", titles: tuple[str, ...] = ()):
        """A project led by the owner, the member a Developer and the viewer a Viewer in
        it, with tasks of these titles (in this order on the To do column). Through the
        services, as the pages would; the organisation's member pages come in part 2."""
        from tenant_apps.projects.models import Role
        from tenant_apps.projects.registry import DEVELOPER, VIEWER
        from tenant_apps.projects.services import project_create, project_member_set
        from tenant_apps.tasks.services import task_create

        with self.schema():
            owner = self.member_of(self.owner)
            project = project_create(key=key, name=name, actor=owner)
            project_member_set(
                project=project, member=self.member_of(self.member), role=Role.objects.get(name=DEVELOPER)
            )
            project_member_set(project=project, member=self.member_of(self.viewer), role=Role.objects.get(name=VIEWER))
            for title in titles:
                task_create(project=project, actor=owner, title=title)
        return project


def unique_slug(prefix: str = "b") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def user_create(email_address: str, full_name: str) -> User:
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email_address, password=PASSWORD, full_name=full_name)
    # Verified, as after sign-up: allauth's mandatory verification lets them log in.
    EmailAddress.objects.create(user=user, email=email_address, verified=True, primary=True)
    return user


@pytest.fixture
def workspace(committed, tessera: Tessera) -> Workspace:
    """A fresh organisation (committed; removed with its schema after the test)."""
    slug = unique_slug()
    owner = user_create(f"owner@{slug}.test", "Olga Owner")
    member = user_create(f"member@{slug}.test", "Mikhail Member")
    viewer = user_create(f"viewer@{slug}.test", "Vera Viewer")
    organization = organization_create(slug=slug, name="Browser Test Org", owner=owner)
    membership_add(organization=organization, user=member, role="member")
    membership_add(organization=organization, user=viewer, role="member")
    return Workspace(tessera=tessera, organization=organization, owner=owner, member=member, viewer=viewer)


def session_cookie_for(user: User) -> str:
    """A session of `user`, as logging in creates it (Django's test client writes it to
    the same session store the server reads)."""
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def new_context(browser, browser_context_args: dict, tessera: Tessera):
    """`new_context(user, slugs=[...])`: a browser context of its own (cookies, storage),
    logged in as `user` on the root domain and the given organisations' domains
    (browsers keep one cookie jar per `localhost` subdomain). Closed after the test."""
    contexts = []

    def make(user: User | None = None, *, slugs: tuple[str, ...] = (), **options):
        context = browser.new_context(**{**browser_context_args, **options})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        if user is not None:
            key = session_cookie_for(user)
            context.add_cookies(
                [
                    {"name": settings.SESSION_COOKIE_NAME, "value": key, "url": tessera.host_origin(slug)}
                    for slug in (None, *slugs)
                ]
            )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def as_user(new_context, workspace: Workspace):
    """`as_user(workspace.member)`: a page logged in as that user in the workspace."""

    def make(user: User, **options):
        return new_context(user, slugs=(workspace.slug,), **options).new_page()

    return make


# --- accessibility and screenshots -------------------------------------------------------


@functools.cache
def _axe():
    """One parsed copy of axe-core (axe.min.js, shipped by axe-playwright-python) per process."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def assert_accessible(page, *, what: str = "") -> None:
    """axe-core finds no serious or critical violation on the page as it is now (both
    themes are checked where the tests switch them: contrast differs)."""
    results = _axe().run(page)
    bad = [
        violation for violation in results.response["violations"] if violation.get("impact") in {"serious", "critical"}
    ]
    report = "\n".join(
        f"- {violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in bad
    )
    assert not bad, f"axe: serious/critical violations on {what or page.url}:\n{report}"


SCREENSHOTS_DIR = os.environ.get("TESSERA_SCREENSHOTS_DIR")


def screenshot_both_themes(page, name: str, *, check_accessibility: bool = True, save: bool = True) -> None:
    """In light and dark (the system preference, which the theme follows by default):
    axe checks each, and with TESSERA_SCREENSHOTS_DIR set (`make screenshots`) the page is
    saved as <name>-light.png and <name>-dark.png at the viewport's size (unless `save`
    is false: the README shows a chosen few)."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        if check_accessibility:
            assert_accessible(page, what=f"{name} ({scheme})")
        if SCREENSHOTS_DIR and save:
            directory = ROOT / SCREENSHOTS_DIR
            directory.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(directory / f"{name}-{scheme}.png"), animations="disabled", caret="hide")
    page.emulate_media(color_scheme="light")


def eventually(check: Callable[[], object], *, seconds: float = 5, what: str = "") -> object:
    """`check()`'s first truthy answer within `seconds` (what the server does after a
    browser action may land a moment after the page shows it)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds}s: {what or check}")
        time.sleep(0.1)
