"""Small helpers shared by the test modules."""

import threading
from collections.abc import Callable

from django.db import connections

from shared_apps.accounts.models import User
from tests.factories import UserFactory


def run_together(count: int, work: Callable[[int], object]) -> list:
    """Run `work(index)` in `count` threads released at the same moment (each with its
    own database connection); return what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # handed back to the test, which asserts on it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    # A bound, not a wait: three spare schemas migrated at once took over 60 s on a loaded
    # two-core machine, and a thread still running left None in `results` (a false failure).
    for thread in threads:
        thread.join(300)
    return results


def assert_allowed_or_refused(calls: list[Callable], *, allowed: bool, state: Callable[[], object]) -> None:
    """Each call answers 2xx when `allowed`; otherwise 403 and `state()` is unchanged."""
    for call in calls:
        before = state()
        response = call()
        if allowed:
            assert response.status_code in (200, 201, 204), response.content
        else:
            assert response.status_code == 403, response.content
            assert state() == before


def verified_user(email: str, password: str) -> User:
    """A user with a password and a verified primary email: able to log in."""
    user = UserFactory(email=email)
    user.set_password(password)
    user.save()
    user.emailaddress_set.create(email=email, primary=True, verified=True)
    return user
