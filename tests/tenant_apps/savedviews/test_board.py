"""A saved view opened as a board applies every one of its filters (not only the filter
bar's): assignee, labels (any of several), priority, dates, search, custom fields; and
so does a column's "load more" (the column endpoint). Other organisation, another's
private view, bad input, constant query counts."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenant_apps.fields.models import CustomFieldOption
from tenant_apps.fields.services import field_create, task_values_set
from tenant_apps.savedviews.services import view_create
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.services import label_save
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _in(team, fn):
    with schema_context(team.organization.schema_name):
        return fn()


def _setup(team):
    """Five tasks of which two ("match one", "match two") pass every filter of the view;
    each other one fails exactly one filter the board's filter bar does not offer
    (due date, custom field) or one it does (label)."""

    def make():
        owner = team.owner_member
        dev = team.members["Developer"]
        field = field_create(
            project=team.web, actor=owner, name="Severity", kind="select", options=[{"name": "Low"}, {"name": "High"}]
        )
        high = CustomFieldOption.objects.get(field=field, name="High")
        low = CustomFieldOption.objects.get(field=field, name="Low")
        one, two, three = (label_save(project=team.web, name=name, actor=owner) for name in ("ui", "api", "docs"))
        rows = {
            "match one release": ([one], date(2026, 12, 10), high),
            "match two release": ([two], date(2026, 12, 11), high),
            "late release": ([one], date(2027, 2, 1), high),
            "low release": ([one], date(2026, 12, 10), low),
            "docs release": ([three], date(2026, 12, 10), high),
        }
        for title, (labels, due, option) in rows.items():
            task = Task.objects.get(pk=team_task_create(team, title=title, labels=labels, due=due, assignees=[dev]).pk)
            task_values_set(task=task, actor=owner, values={field: option.pk})
        team.task("other person release", priority=3, due_date=date(2026, 12, 10), labels=[one])
        filters = {
            "assignee": [str(dev.pk)],
            "label": [str(one.pk), str(two.pk)],
            "priority": ["high"],
            "due_before": ["2027-01-01"],
            f"field_{field.pk}": [str(high.pk)],
            "search": ["release"],
        }
        view = view_create(project=team.web, actor=dev, name="Mine, high", layout="board", filters=filters)
        return view, field, high, one

    return _in(team, make)


def team_task_create(team, *, title, labels, due, assignees):
    from tenant_apps.tasks.services import task_create

    return task_create(
        project=team.web,
        actor=team.owner_member,
        title=title,
        priority=3,
        due_date=due,
        labels=labels,
        assignees=assignees,
    )


def _titles(html: str) -> set[str]:
    return set(re.findall(r">((?:match|late|low|docs|other)[a-z ]* release)<", html))


@pytest.mark.django_db
def test_board_of_a_saved_view_applies_all_its_filters(team):
    view, _field, _high, _label = _setup(team)
    client = team.client("Developer")
    board = client.get(f"/projects/WEB/?view={view.pk}")
    assert board.status_code == 200
    assert _titles(board.text) == {"match one release", "match two release"}
    # The htmx refresh of the columns (a filter change, a live update) keeps them.
    columns = client.get(f"/projects/WEB/?view={view.pk}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="board-columns")
    assert _titles(columns.text) == {"match one release", "match two release"}
    # A parameter given beside the view wins over the view's value (here: any label).
    wider = client.get(f"/projects/WEB/?view={view.pk}&label=").text
    assert _titles(wider) == {"match one release", "match two release", "docs release"}
    # Without the view the board shows everything.
    assert len(_titles(client.get("/projects/WEB/").text)) == 6


@pytest.mark.django_db
def test_board_column_endpoint_applies_the_view_and_custom_field_filters(team):
    view, field, high, _label = _setup(team)
    todo = _in(team, lambda: team.web.states.get(name="To do").pk)
    client = team.client("Developer")
    column = client.get(f"/projects/WEB/column/{todo}/?offset=0&view={view.pk}", HTTP_HX_REQUEST="true")
    assert column.status_code == 200
    assert _titles(column.text) == {"match one release", "match two release"}
    # The custom-field filter alone (commit bee01f2: the column filtered without fields).
    only_field = client.get(f"/projects/WEB/column/{todo}/?offset=0&field_{field.pk}={high.pk}").text
    assert _titles(only_field) == {"match one release", "match two release", "late release", "docs release"}
    # A bad value is no 500; another's private view and another organisation: 404.
    assert client.get(f"/projects/WEB/column/{todo}/?offset=0&due_before=never").status_code == 200
    assert client.get(f"/projects/WEB/column/{todo}/?offset=0&view=x").status_code == 404
    assert team.client("Viewer").get(f"/projects/WEB/column/{todo}/?view={view.pk}").status_code == 404
    assert team.client("guest").get(f"/projects/WEB/column/{todo}/").status_code == 404
    assert team.client("Viewer").get(f"/projects/WEB/?view={view.pk}").status_code == 404


@pytest.mark.django_db
def test_board_column_load_more_link_carries_every_filter_value(team, org_b):
    from tenant_apps.tasks.ranks import rank_for_number

    def make():
        one, two = (label_save(project=team.web, name=name, actor=team.owner_member) for name in ("ui", "api"))
        state = team.web.states.get(category="todo")
        tasks = Task.objects.bulk_create(
            Task(project=team.web, state=state, number=n, title=f"Task {n}", rank=rank_for_number(n), due_date=due)
            for n, due in ((n, date(2026, 12, 1) if n % 2 else date(2027, 6, 1)) for n in range(1, 214))
        )
        Task.labels.through.objects.bulk_create(
            Task.labels.through(task_id=task.pk, label_id=(one if task.number % 4 == 1 else two).pk) for task in tasks
        )
        filters = {"label": [str(one.pk), str(two.pk)], "due_before": ["2027-01-01"]}
        return view_create(project=team.web, actor=team.members["Developer"], name="Odd", filters=filters), state

    view, todo = _in(team, make)
    client = team.client("Developer")
    page = client.get(f"/projects/WEB/?view={view.pk}").text
    numbers = [int(n) for n in re.findall(r">Task (\d+)<", page)]
    assert len(numbers) == 100
    assert all(n % 2 for n in numbers)
    link = re.search(r'class="load-more" hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert link.count("label=") == 2  # both values, not only the last
    more = client.get(link, HTTP_HX_REQUEST="true").text
    rest = [int(n) for n in re.findall(r">Task (\d+)<", more)]
    assert len(rest) == 7  # 107 odd numbers in 1..213
    assert all(n % 2 for n in rest)
    assert not set(rest) & set(numbers)
    assert client_for(org_b, team.users["Developer"]).get(f"/projects/WEB/column/{todo.pk}/").status_code in (
        302,
        403,
        404,
    )


@pytest.mark.django_db
def test_board_of_a_saved_view_costs_constant_queries(team):
    view, field, high, label = _setup(team)
    dev = team.members["Developer"]
    client = team.client("Developer")
    counts = []
    for extra in (0, 6):
        _in(
            team,
            lambda extra=extra: [
                task_values_set(
                    task=team_task_create(
                        team, title=f"match more release {n}", labels=[label], due=date(2026, 12, 1), assignees=[dev]
                    ),
                    actor=team.owner_member,
                    values={field: high.pk},
                )
                for n in range(extra)
            ],
        )
        client.get(f"/projects/WEB/?view={view.pk}")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/projects/WEB/?view={view.pk}").status_code == 200
        assert page_count(client, view) == 2 + extra
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def page_count(client, view) -> int:
    return len(re.findall(r">match [a-z0-9 ]*release[ 0-9]*<", client.get(f"/projects/WEB/?view={view.pk}").text))
