"""The task tree's bookkeeping: the per-organisation tree lock and the rolled-up time
columns (Task.time_spent_minutes, Task.time_total_minutes). Called by the services in
their transaction; nothing else writes those columns.

Locking: re-parenting and deleting take the tree lock exclusively (so no cycle can slip
in and no total is added along a chain that is being rewired); time-entry writes take
it shared (they run side by side) and then lock the rows of the chain in id order, so two
of them never deadlock."""

from django.db import connection

_LOCK = "SELECT pg_advisory_xact_lock{shared}(hashtext(current_schema() || ':tasks.tree'))"
_CHAIN = """WITH RECURSIVE up(id, parent_id) AS (
        SELECT id, parent_id FROM tasks_task WHERE id = %s
        UNION SELECT t.id, t.parent_id FROM tasks_task t JOIN up ON t.id = up.parent_id)"""


def tree_lock(*, shared: bool = False) -> None:
    """The organisation's tree lock, until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK.format(shared="_shared" if shared else ""))


def chain_total_add(*, task_id: int | None, minutes: int) -> None:
    """Add `minutes` (negative: subtract) to the rolled-up total of `task_id` and of every
    ancestor. Call under the tree lock."""
    if task_id is None or not minutes:
        return
    with connection.cursor() as cursor:
        # Fixed SQL (no input in the text); rows locked in id order: no deadlock.
        locking = f"{_CHAIN} SELECT id FROM tasks_task WHERE id IN (SELECT id FROM up) ORDER BY id FOR UPDATE"  # noqa: S608
        cursor.execute(locking, [task_id])
        cursor.execute(
            f"{_CHAIN} UPDATE tasks_task SET time_total_minutes = time_total_minutes + %s "  # noqa: S608
            "WHERE id IN (SELECT id FROM up)",
            [task_id, minutes],
        )


def task_time_add(*, task_id: int, minutes: int) -> None:
    """Time logged (or, negative, removed) on `task_id`: its own minutes and the totals up
    its chain. Takes the tree lock shared."""
    tree_lock(shared=True)
    chain_total_add(task_id=task_id, minutes=minutes)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_task SET time_spent_minutes = time_spent_minutes + %s WHERE id = %s", [minutes, task_id]
        )


def subtree_detach(*, task_id: int, parent_id: int | None, total: int) -> None:
    """`task_id` (whose subtree holds `total` minutes) leaves `parent_id`'s chain. Call
    under the exclusive tree lock."""
    chain_total_add(task_id=parent_id, minutes=-total)


def subtree_attach(*, parent_id: int | None, total: int) -> None:
    """A subtree of `total` minutes joins `parent_id`'s chain. Under the exclusive lock."""
    chain_total_add(task_id=parent_id, minutes=total)
