"""The web application's task pages (board, list, task page, new task, live updates)
through the Django client: happy paths, bad input (inline errors, nothing stored), wrong
role (refused like the API, nothing changed), other tenant, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from tenant_apps.tasks.models import Activity, Comment, Task, TaskStatus
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _in(team, fn):
    with schema_context(team.organization.schema_name):
        return fn()


def _task(team, number: int, project: str = "WEB") -> Task:
    return _in(team, lambda: Task.objects.select_related("project").get(project__key=project, number=number))


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.django_db
def test_every_page_renders_in_the_shell(team):
    task = team.task("Write the docs")
    client = team.client("Developer")
    for url in ("/", "/projects/", "/projects/WEB/", "/projects/WEB/list/", "/tasks/", f"/tasks/{task.key}/",
                "/tasks/new/", "/inbox/", "/search/?q=docs", "/soon/members/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert 'class="topbar"' in response.text, url
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "Write the docs" in client.get("/projects/WEB/").text
    assert "<mark>docs</mark>" in client.get("/search/?q=docs").text


@pytest.mark.django_db
def test_pages_speak_russian(team):
    team.task("Задача")
    user = team.users["Developer"]
    user.language = "ru"
    user.save(update_fields=["language"])
    text = team.client("Developer").get("/projects/WEB/").text
    assert "Доска" in text
    assert "Новая задача" in text
    assert "В работе" in text


@pytest.mark.django_db
def test_unknown_task_and_other_organisations_task_are_the_404_page(team, org_b):
    with schema_context(org_b.schema_name):
        from tenant_apps.members.models import Member
        from tenant_apps.projects.services import project_create
        from tenant_apps.tasks.services import task_create

        owner = Member.objects.get(email="owner@bravo.test")
        secret = task_create(project=project_create(key="SEC", name="Secret", actor=owner), actor=owner, title="x")
    client = team.client("Developer")
    for url in ("/tasks/WEB-999/", f"/tasks/{secret.key}/", "/tasks/not-a-key/", "/projects/SEC/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert 'class="topbar"' in response.text  # styled, in the shell
    # Bravo's own owner, on Alpha's domain: not a member there.
    bravo_owner = User.objects.get(email="owner@bravo.test")
    assert client_for(team.organization, bravo_owner).get("/projects/WEB/").status_code == 403


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(team):
    response = client_for(team.organization).get("/projects/WEB/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- Board -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_dragging_a_card_to_done_changes_status_completed_at_and_activity(team):
    task = team.task("Ship it")
    response = team.client("Developer").post(
        "/projects/WEB/move/", {"number": task.number, "status": "done"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200, response.content
    moved = _task(team, task.number)
    assert moved.status == TaskStatus.DONE
    assert moved.completed_at is not None
    assert _in(team, lambda: Activity.objects.filter(task=moved, field="state", new_value="Done").count()) == 1


@pytest.mark.django_db
def test_reordering_a_column_persists_and_writes_one_row(team):
    first, second, third = (team.task(title) for title in ("one", "two", "three"))
    client = team.client("Developer")
    # Drop "three" between "one" and "two".
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/projects/WEB/move/",
            {"number": third.number, "status": "todo", "after": first.number, "before": second.number},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 200, response.content
    assert sum(1 for q in captured.captured_queries if q["sql"].startswith('UPDATE "tasks_task"')) == 1
    order = _in(
        team,
        lambda: list(Task.objects.filter(status="todo").order_by("rank", "number").values_list("title", flat=True)),
    )
    assert order == ["one", "three", "two"]
    assert _task(team, third.number).version == third.version  # a reorder is no edit
    page = client.get("/projects/WEB/").text
    assert page.index(">one<") < page.index(">three<") < page.index(">two<")


@pytest.mark.django_db
def test_keyboard_moves_up_and_down_work_as_plain_forms(team):
    first, second = team.task("one"), team.task("two")
    client = team.client("Developer")
    response = client.post("/projects/WEB/move/", {"number": second.number, "direction": "up"})
    assert response.status_code == 302
    order = _in(team, lambda: list(Task.objects.order_by("rank", "number").values_list("number", flat=True)))
    assert order == [second.number, first.number]
    response = client.post("/projects/WEB/move/", {"move": f"{second.number}:in_progress"})  # a card menu button
    assert response.status_code == 302
    assert _task(team, second.number).status == "in_progress"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["Viewer", "Reporter"])
def test_a_refused_move_changes_nothing_and_says_why(team, role):
    task = team.task("Locked")
    before = team.state()
    response = team.client(role).post(
        "/projects/WEB/move/", {"number": task.number, "status": "done"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 403
    assert "task.change_status" in response.json()["detail"]
    assert team.state() == before
    # The API refuses the same person the same way.
    api = team.client(role).patch(
        f"/api/v1/projects/WEB/tasks/{task.number}/", {"status": "done"}, content_type="application/json"
    )
    assert api.status_code == 403


@pytest.mark.django_db
def test_board_move_refuses_bad_input(team):
    task = team.task("x")
    client = team.client("Developer")
    for data in ({"number": "abc"}, {"number": task.number, "status": "nope"}, {}):
        assert client.post("/projects/WEB/move/", data, HTTP_ACCEPT="application/json").status_code == 400
    assert client.post("/projects/WEB/move/", {"number": 999}, HTTP_ACCEPT="application/json").status_code == 404
    assert _task(team, task.number).status == "todo"


@pytest.mark.django_db
def test_viewer_sees_no_edit_controls(team):
    task = team.task("Read only")
    board = team.client("Viewer").get("/projects/WEB/").text
    assert 'draggable="true"' not in board
    assert "card-menu" not in board
    page = team.client("Viewer").get(f"/tasks/{task.key}/").text
    assert "data-edit-title" not in page
    assert 'name="body"' not in page
    assert "Delete task" not in page
    before = team.state()
    forced = team.client("Viewer").post(f"/tasks/{task.key}/edit/", {"fields": "title", "title": "Hacked"})
    assert forced.status_code == 403
    assert team.state() == before


@pytest.mark.django_db
def test_board_filters_narrow_the_cards_and_stay_in_the_url(team):
    team.task("Mine", assignees=[team.members["Developer"]])
    team.task("Nobody's")
    client = team.client("Developer")
    page = client.get("/projects/WEB/?assignee=me").text
    assert "Mine" in page
    assert "Nobody&#x27;s" not in page
    page = client.get("/projects/WEB/?assignee=none").text
    assert "Mine" not in page
    bad = client.get("/projects/WEB/?priority=enormous")
    assert bad.status_code == 200
    assert "errorlist" in bad.text


@pytest.mark.django_db
def test_board_column_loads_more_beyond_100(team):
    def many():
        from tenant_apps.tasks.ranks import rank_for_number

        project = team.web
        state = project.states.get(category="todo")
        Task.objects.bulk_create(
            Task(project=project, state=state, number=n, title=f"Task {n}", rank=rank_for_number(n))
            for n in range(1, 106)
        )

    _in(team, many)
    client = team.client("Developer")
    page = client.get("/projects/WEB/").text
    assert ">Task 100<" in page
    assert ">Task 101<" not in page
    assert "load-more" in page
    todo = _in(team, lambda: team.web.states.get(name="To do").pk)
    more = client.get(f"/projects/WEB/column/{todo}/?offset=100", HTTP_HX_REQUEST="true").text
    assert ">Task 101<" in more
    assert ">Task 105<" in more
    assert "load-more" not in more


@pytest.mark.django_db
def test_the_cached_filter_bar_follows_new_labels_and_project_members(team):
    import re

    from tenant_apps.projects.models import Role
    from tenant_apps.projects.services import project_member_set
    from tenant_apps.tasks.services import label_save

    def assignees(page: str) -> str:
        return re.search(r'<select id="filter-assignee" name="assignee">(.*?)</select>', page, re.S).group(1)

    client = team.client("Developer")
    client.get("/projects/WEB/")
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/projects/WEB/").text
    # Cached: the board reads no people and no labels for its filter bar.
    assert not [q for q in captured.captured_queries if '"tasks_label"' in q["sql"] or "DISTINCT" in q["sql"]]
    assert "guest" not in assignees(page)
    assert 'id="filter-label"' not in page  # no labels yet
    with schema_context(team.organization.schema_name):
        label_save(project=team.web, name="urgent-fix", color="#ff0000", actor=team.owner_member)
        project_member_set(project=team.web, member=team.members["guest"], role=Role.objects.get(name="Viewer"))
    for url in ("/projects/WEB/", "/projects/WEB/list/"):
        page = client.get(url).text
        assert "urgent-fix" in page, url
        assert ">guest<" in assignees(page), url
    # The filter values are part of what is cached: a chosen assignee shows as chosen.
    chosen = client.get("/projects/WEB/", {"assignee": team.members["guest"].pk}).text
    assert f'<option value="{team.members["guest"].pk}" selected>guest</option>' in assignees(chosen)
    assert f'<option value="{team.members["guest"].pk}">guest</option>' in assignees(client.get("/projects/WEB/").text)
    # Russian: the bar in the reader's language.
    user = team.users["Developer"]
    user.language = "ru"
    user.save(update_fields=["language"])
    assert "Исполнитель" in client.get("/projects/WEB/").text


@pytest.mark.django_db
def test_board_and_list_queries_stay_constant_as_tasks_grow(team):
    client = team.client("Developer")
    team.task("warm-up", assignees=[team.members["Developer"]])
    client.get("/projects/WEB/")
    client.get("/projects/WEB/list/")
    board, listing = _queries(client, "/projects/WEB/"), _queries(client, "/projects/WEB/list/")
    for index in range(8):
        team.task(f"more {index}", assignees=[team.members["Developer"], team.members["Reporter"]])
    # Task writes bump the project's live version, which keys the filter bar's cached
    # labels: the first page after them reads the labels again (one statement), then not.
    assert _queries(client, "/projects/WEB/") <= board + 1
    assert _queries(client, "/projects/WEB/") == board
    assert _queries(client, "/projects/WEB/list/") == listing
    assert _queries(client, "/tasks/") == _queries(client, "/tasks/")


# --- Task page -------------------------------------------------------------------------


@pytest.mark.django_db
def test_task_page_edits_fields_through_the_service(team):
    task = team.task("Old title")
    client = team.client("Developer")
    response = client.post(
        f"/tasks/{task.key}/edit/", {"fields": "title", "title": "New title", "version": task.version}
    )
    assert response.status_code == 302
    review = _in(team, lambda: team.web.states.get(name="In review").pk)
    response = client.post(
        f"/tasks/{task.key}/edit/",
        {"fields": ["state", "priority", "due_date", "assignees"], "state": review, "priority": "high",
         "due_date": "2030-01-31", "assignees": [team.members["Developer"].pk], "version": task.version + 1},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    updated = _task(team, task.number)
    assert (updated.title, updated.state.name, updated.status, updated.priority, str(updated.due_date)) == (
        "New title", "In review", "in_progress", 3, "2030-01-31",
    )  # fmt: skip
    assert _in(team, lambda: list(updated.assignees.values_list("pk", flat=True))) == [team.members["Developer"].pk]


@pytest.mark.django_db
def test_a_megabyte_title_is_refused_naming_the_limit(team):
    task = team.task("Short")
    before = team.state()
    response = team.client("Developer").post(
        f"/tasks/{task.key}/edit/", {"fields": "title", "title": "x" * 1_000_000, "version": task.version}
    )
    assert response.status_code == 400
    assert "At most 255 characters" in response.text
    assert team.state() == before
    response = team.client("Developer").post(f"/tasks/{task.key}/edit/", {"fields": "title", "title": "  "})
    assert response.status_code == 400
    assert "A task needs a title." in response.text
    assert team.state() == before


@pytest.mark.django_db
def test_a_stale_edit_shows_who_changed_it_and_saves_nothing(team):
    task = team.task("Original")
    manager, developer = team.client("Project Manager"), team.client("Developer")
    assert (
        manager.post(
            f"/tasks/{task.key}/edit/", {"fields": "title", "title": "Theirs", "version": task.version}
        ).status_code
        == 302
    )
    response = developer.post(f"/tasks/{task.key}/edit/", {"fields": "title", "title": "Mine", "version": task.version})
    assert response.status_code == 409
    assert "Changed by Project Manager" in response.text
    assert "Overwrite with mine" in response.text
    assert _task(team, task.number).title == "Theirs"
    # Overwrite: the form carries the new version.
    response = developer.post(
        f"/tasks/{task.key}/edit/", {"fields": "title", "title": "Mine", "version": task.version + 1}
    )
    assert response.status_code == 302
    assert _task(team, task.number).title == "Mine"


@pytest.mark.django_db
def test_comments_are_created_edited_and_deleted_by_their_authors(team):
    task = team.task("Talk")
    client = team.client("Developer")
    assert client.post(f"/tasks/{task.key}/comment/", {"body": "Hello **there**"}).status_code == 302
    comment = _in(team, lambda: Comment.objects.get(task=task))
    assert "<strong>there</strong>" in client.get(f"/tasks/{task.key}/").text
    assert client.post(f"/tasks/{task.key}/comment/", {"body": "   "}).status_code == 400
    assert _in(team, lambda: Comment.objects.count()) == 1
    assert client.post(f"/tasks/{task.key}/comment-edit/", {"comment": comment.pk, "body": "Edited"}).status_code == 302
    other = team.client("Reporter")
    assert other.post(f"/tasks/{task.key}/comment-delete/", {"comment": comment.pk}).status_code == 403
    assert (
        team.client("Project Manager").post(f"/tasks/{task.key}/comment-delete/", {"comment": comment.pk}).status_code
        == 302
    )
    assert _in(team, lambda: Comment.objects.count()) == 0


@pytest.mark.django_db
def test_attachments_upload_with_the_size_limit_and_show_thumbnails(team, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.TESSERA_ATTACHMENT_MAX_BYTES = 1000
    task = team.task("Files")
    client = team.client("Developer")
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    response = client.post(f"/tasks/{task.key}/upload/", {"file": SimpleUploadedFile("shot.png", png)})
    assert response.status_code == 302
    page = client.get(f"/tasks/{task.key}/").text
    assert '<img src="/api/v1/projects/WEB/tasks/' in page
    assert "shot.png" in page
    big = SimpleUploadedFile("big.bin", b"x" * 5000)
    response = client.post(f"/tasks/{task.key}/upload/", {"file": big}, HTTP_HX_REQUEST="true")
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert _in(team, lambda: task.attachments.count()) == 1
    assert (
        team.client("Viewer")
        .post(f"/tasks/{task.key}/upload/", {"file": SimpleUploadedFile("a.txt", b"a")})
        .status_code
        == 403
    )


@pytest.mark.django_db
def test_watch_move_and_delete_from_the_task_page(team):
    task = team.task("Travelling")
    client = team.client("Project Manager")
    assert client.post(f"/tasks/{task.key}/watch/", {"watch": "1"}).status_code == 302
    with schema_context(team.organization.schema_name):
        from tenant_apps.projects.models import Role
        from tenant_apps.projects.services import project_member_set

        project_member_set(
            project=team.ops, member=team.members["Project Manager"], role=Role.objects.get(name="Developer")
        )
    response = client.post(f"/tasks/{task.key}/move/", {"project": "OPS"})
    assert response.status_code == 302
    assert response["Location"] == "/tasks/OPS-1/"
    assert client.get(f"/tasks/{task.key}/").status_code == 302  # the old number redirects
    # Deleting needs task.delete in OPS, where this manager is only a Developer.
    assert client.post("/tasks/OPS-1/delete/", {"confirm": "OPS-1"}).status_code == 403
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    assert owner.post("/tasks/OPS-1/delete/", {"confirm": "WRONG"}).status_code == 302
    assert _in(team, lambda: Task.objects.count()) == 1
    assert owner.post("/tasks/OPS-1/delete/", {"confirm": "OPS-1"}).status_code == 302
    assert _in(team, lambda: Task.objects.count()) == 0


@pytest.mark.django_db
def test_task_page_queries_stay_constant_as_comments_grow(team):
    task = team.task("Chatty")
    client = team.client("Developer")
    client.post(f"/tasks/{task.key}/comment/", {"body": "first"})
    client.get(f"/tasks/{task.key}/")
    baseline = _queries(client, f"/tasks/{task.key}/")
    for index in range(10):
        client.post(f"/tasks/{task.key}/comment/", {"body": f"comment {index}"})
    client.get(f"/tasks/{task.key}/")
    assert _queries(client, f"/tasks/{task.key}/") == baseline


@pytest.mark.django_db
def test_the_side_panel_is_the_task_fragment(team):
    task = team.task("Panel")
    response = team.client("Developer").get(f"/tasks/{task.key}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="panel-host")
    assert response.status_code == 200
    assert "data-panel" in response.text
    assert "topbar" not in response.text


# --- New task, list, bulk ----------------------------------------------------------------


@pytest.mark.django_db
def test_new_task_dialog_creates_and_can_create_another(team):
    client = team.client("Developer")
    response = client.post("/tasks/new/", {"project": "WEB", "title": "From the dialog", "priority": "high"})
    assert response.status_code == 302
    assert response["Location"] == "/tasks/WEB-1/"
    response = client.post(
        "/tasks/new/",
        {"project": "WEB", "title": "Another", "priority": "none", "another": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "WEB-2 created" in response.text
    assert "<dialog" in response.text
    before = team.state()
    response = client.post("/tasks/new/", {"project": "WEB", "title": "", "priority": "none"})
    assert response.status_code == 400
    assert "A task needs a title." in response.text
    response = client.post(
        "/tasks/new/", {"project": "WEB", "title": "Late", "priority": "none", "due_date": "31/31/2030"}
    )
    assert response.status_code == 400
    assert "errorlist" in response.text
    assert team.state() == before


@pytest.mark.django_db
def test_new_task_refuses_roles_that_may_not_create(team):
    before = team.state()
    response = team.client("Viewer").post("/tasks/new/", {"project": "WEB", "title": "Nope", "priority": "none"})
    assert response.status_code in (200, 400, 403)
    assert team.state() == before


@pytest.mark.django_db
def test_list_filters_search_sorting_and_pagination(team):
    team.task("Design the header", priority=3)
    team.task("Fix the footer", priority=1)
    client = team.client("Developer")
    page = client.get("/projects/WEB/list/?search=design").text
    assert "<mark>Design</mark>" in page
    assert "Fix the footer" not in page
    page = client.get("/projects/WEB/list/?ordering=-priority").text
    assert page.index("Design the header") < page.index("Fix the footer")
    page = client.get("/projects/WEB/list/?ordering=priority").text
    assert page.index("Fix the footer") < page.index("Design the header")
    bad = client.get("/projects/WEB/list/?created_after=yesterday")
    assert bad.status_code == 200
    assert "errorlist" in bad.text
    assert client.get("/tasks/?search=footer").status_code == 200


@pytest.mark.django_db
def test_the_list_counts_as_the_api_does_up_to_its_cap_and_pages_go_on(team, monkeypatch):
    from tenant_apps.tasks import pages as task_pages

    monkeypatch.setattr(task_pages, "TASK_COUNT_CAP", 3)
    monkeypatch.setattr(task_pages, "LIST_PAGE_SIZE", 2)
    for index in range(7):
        team.task(f"counted {index}")
    client = team.client("Developer")
    first = client.get("/projects/WEB/list/")
    assert "Page 1 of more than 2 (over 3 tasks)" in first.text
    assert 'href="?page=2"' in first.text
    # A page beyond the cap is counted up to its own end, and still says there is more.
    second = client.get("/projects/WEB/list/?page=2")
    assert "Page 2 of more than 2 (over 4 tasks)" in second.text
    assert 'href="?page=3"' in second.text
    last = client.get("/projects/WEB/list/?page=4")
    assert "Page 4 of 4 (7 tasks)" in last.text
    assert "?page=5" not in last.text
    seen = [
        row.context["tasks"][index]["key"]
        for row in (client.get(f"/projects/WEB/list/?page={number}") for number in (1, 2, 3, 4))
        for index in range(len(row.context["tasks"]))
    ]
    assert sorted(seen) == sorted(f"WEB-{number}" for number in range(1, 8))  # no overlap, none missing
    # A page number past the end shows the last page; a bad one the first.
    assert "Page 4 of 4 (7 tasks)" in client.get("/projects/WEB/list/?page=99").text
    assert "Page 1 of more than 2" in client.get("/projects/WEB/list/?page=x").text
    # A page number too large to count to (its LIMIT past bigint) shows the last page
    # counted, with the way on; never a 500.
    for huge in ("10000000000000000000", "200000000000000000", "1234567890"):
        for url in ("/projects/WEB/list/", "/tasks/", f"/tasks/?assignee={team.members['Developer'].pk}"):
            response = client.get(url, {"page": huge})
            assert response.status_code == 200, (url, huge)
    assert "Page 2 of more than 2 (over 3 tasks)" in client.get("/projects/WEB/list/?page=10000000000").text
    # A search and a filter count the same way; all tasks too.
    assert "over 3 tasks" in client.get("/projects/WEB/list/?search=counted").text
    assert "over 3 tasks" in client.get("/tasks/?status=todo").text
    user = team.users["Developer"]
    user.language = "ru"
    user.save(update_fields=["language"])
    assert "Страница 1 из более чем 2 (задач: больше 3)" in client.get("/projects/WEB/list/").text


@pytest.mark.django_db
def test_bulk_changes_report_partial_failures(team):
    a, b = team.task("a"), team.task("b")
    client = team.client("Developer")
    response = client.post(
        "/tasks/bulk/",
        {"action": "status", "status": "done", "task": [a.key, b.key, "WEB-999"], "next": "/projects/WEB/list/"},
    )
    assert response.status_code == 302
    assert {_task(team, a.number).status, _task(team, b.number).status} == {"done"}
    messages = [str(m) for m in client.get("/projects/WEB/list/").context["messages"]]
    assert any("WEB-999" in m for m in messages)
    # Developers may not delete: each task is refused, none deleted.
    client.post("/tasks/bulk/", {"action": "delete", "task": [a.key]})
    assert _in(team, lambda: Task.objects.count()) == 2


# --- Live updates ------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_idle_page_check_costs_no_sql_and_a_change_is_seen(team):
    import re

    team.task("Live")
    client = team.client("Developer")
    page = client.get("/projects/WEB/").text
    url = re.search(r'class="live-poll" hidden hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    client.get(url)  # the session is now in the cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 204
    assert len(captured) <= 1, [q["sql"] for q in captured.captured_queries]
    team.task("Someone else's new task")
    response = client.get(url)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "tessera:changed"
    assert client.get(url.replace("t=", "t=forged")).status_code == 403
    # Another person cannot use this page's token.
    assert team.client("Reporter").get(url).status_code == 403


@pytest.mark.django_db
def test_user_text_is_escaped_on_every_page(team):
    evil = '<script>alert("x")</script>'
    # PostgreSQL's text-search parser reads <script> contents as blank, as HTML does: the
    # search finds the task by the word around it.
    task = team.task(f"Launch {evil}", description=f"**bold**\n\n{evil}")
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.services import label_save

        label_save(project=team.web, name='<b onmouseover="x">', color="#ff0000", actor=team.owner_member)
    client = team.client("Developer")
    for url in ("/projects/WEB/", "/projects/WEB/list/", f"/tasks/{task.key}/", "/search/?q=launch"):
        page = client.get(url).text
        assert evil not in page, url
        assert "&lt;script&gt;" in page, url
    assert "<strong>bold</strong>" in client.get(f"/tasks/{task.key}/").text  # Markdown, sanitised


@pytest.mark.django_db
def test_status_and_order_change_without_javascript(team):
    """Without JavaScript a card's menu is a link to the task page (the board does not
    carry 500 menus); there the status is a plain form field and "Move up/down" plain
    submit buttons of the board's move endpoint, coming back to the task page."""
    _first, second = team.task("one"), team.task("two")
    client = team.client("Developer")
    board = client.get("/projects/WEB/").text
    assert f'<a href="/tasks/{second.key}/">' in board[board.index(f'data-card-menu="{second.number}"') :]
    page = client.get(f"/tasks/{second.key}/").text
    order_form = page[page.index('<form method="post" action="/projects/WEB/move/"') :]
    order_form = order_form[: order_form.index("</form>")]
    assert f'name="number" value="{second.number}"' in order_form
    assert f'name="next" value="/tasks/{second.key}/"' in order_form
    assert 'type="submit" name="direction" value="up"' in order_form
    assert 'type="submit" name="direction" value="down"' in order_form
    # What the browser posts when "Move up" is pressed.
    posted = {"number": second.number, "next": f"/tasks/{second.key}/", "direction": "up"}
    response = client.post("/projects/WEB/move/", posted)
    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{second.key}/"
    order = _in(team, lambda: list(Task.objects.order_by("rank", "number").values_list("title", flat=True)))
    assert order == ["two", "one"]
    assert "reordered" in client.get(f"/tasks/{second.key}/").text  # the message on the next page
    response = client.post("/projects/WEB/move/", {**posted, "direction": "down"})
    assert response.status_code == 302
    order = _in(team, lambda: list(Task.objects.order_by("rank", "number").values_list("title", flat=True)))
    assert order == ["one", "two"]
    # The status: the task page's own form, a plain POST.
    response = client.post(
        f"/tasks/{second.key}/edit/", {"fields": "status", "status": "in_progress", "version": second.version}
    )
    assert response.status_code == 302
    assert _task(team, second.number).status == "in_progress"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["Viewer", "Reporter"])
def test_plain_form_moves_are_refused_for_roles_without_status_and_change_nothing(team, role):
    first, second = team.task("one"), team.task("two")
    client = team.client(role)
    page = client.get(f"/tasks/{second.key}/").text
    assert "/projects/WEB/move/" not in page  # no order buttons offered
    assert 'name="direction"' not in page
    before = team.state()
    ranks = _in(team, lambda: list(Task.objects.order_by("pk").values_list("pk", "rank", "status")))
    for data in (
        {"number": second.number, "direction": "up"},
        {"number": first.number, "direction": "down"},
        {"number": second.number, "status": "done"},
        {"move": f"{second.number}:done"},
    ):
        response = client.post("/projects/WEB/move/", {**data, "next": f"/tasks/{second.key}/"})
        assert response.status_code == 302, data  # a plain form: back, with why
        assert response["Location"] == f"/tasks/{second.key}/"
    assert team.state() == before
    assert _in(team, lambda: list(Task.objects.order_by("pk").values_list("pk", "rank", "status"))) == ranks
    assert "task.change_status" in client.get(f"/tasks/{second.key}/").text


def _selected_project(page: str) -> str:
    import re

    select = re.search(r'<select id="new-project" name="project"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None, "the project select is inside the create form"
    return re.search(r'<option value="([A-Z0-9]+)" selected>', select.group(1)).group(1)


@pytest.mark.django_db
def test_new_task_page_without_javascript_switches_and_creates_in_the_selected_project(team):
    import re

    with schema_context(team.organization.schema_name):
        from tenant_apps.projects.models import Role
        from tenant_apps.projects.services import project_member_set
        from tenant_apps.tasks.services import label_save

        project_member_set(project=team.ops, member=team.members["Developer"], role=Role.objects.get(name="Developer"))
        label_save(project=team.ops, name="ops-only", color="#00ff00", actor=team.owner_member)
    client = team.client("Developer")
    page = client.get("/tasks/new/", {"project": "WEB"}).text
    # One form: the select, "Switch project" and "Create task" all post it.
    form = re.search(r'<form method="post" action="/tasks/new/"[^>]*>(.*?)</form>', page, re.S).group(1)
    assert 'name="switch"' in form
    assert '<input type="hidden" name="shown_project" value="WEB">' in form
    assert _selected_project(page) == "WEB"
    assert "ops-only" not in page
    # "Switch project": nothing created, the page shows OPS's labels and keeps the title.
    response = client.post("/tasks/new/", {"shown_project": "WEB", "project": "OPS", "switch": "1",
                                           "title": "Kept title", "priority": "high"})  # fmt: skip
    assert response.status_code == 200
    assert "ops-only" in response.text
    assert 'value="Kept title"' in response.text
    assert _selected_project(response.text) == "OPS"
    assert '<input type="hidden" name="shown_project" value="OPS">' in response.text
    assert _in(team, lambda: Task.objects.count()) == 0
    # OPS selected on a page still showing WEB, then "Create task": created in OPS.
    response = client.post("/tasks/new/", {"shown_project": "WEB", "project": "OPS", "title": "In ops",
                                           "priority": "none"})  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == "/tasks/OPS-1/"
    # An unknown project falls back to the first one the person may create in (by key).
    assert _selected_project(client.get("/tasks/new/", {"project": "NOPE"}).text) == "OPS"


@pytest.mark.django_db
def test_new_task_page_refuses_people_of_the_shown_project_after_a_project_change(team):
    with schema_context(team.organization.schema_name):
        from tenant_apps.projects.models import Role
        from tenant_apps.projects.services import project_member_set

        project_member_set(project=team.ops, member=team.members["Developer"], role=Role.objects.get(name="Developer"))
    developer = team.members["Developer"]
    client = team.client("Developer")
    response = client.post("/tasks/new/", {"shown_project": "WEB", "project": "OPS", "title": "Whose?",
                                           "priority": "none", "assignees": [developer.pk]})  # fmt: skip
    assert response.status_code == 400
    assert "The project changed to OPS" in response.text
    assert 'value="Whose?"' in response.text
    assert _selected_project(response.text) == "OPS"
    assert _in(team, lambda: Task.objects.count()) == 0
    # Pressed again on the page now showing OPS: created there, with the assignee.
    response = client.post("/tasks/new/", {"shown_project": "OPS", "project": "OPS", "title": "Whose?",
                                           "priority": "none", "assignees": [developer.pk]})  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == "/tasks/OPS-1/"
    assert _in(team, lambda: list(Task.objects.get(project__key="OPS", number=1).assignees.all())) == [developer]
