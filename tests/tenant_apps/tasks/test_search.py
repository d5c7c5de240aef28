"""What task search finds: every query word must match (AND), each by the full-text
index or, through the title-word dictionary kept by triggers, by trigram word
similarity or a one-letter typo (words of five letters or more)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenant_apps.tasks.filters import _typo_variants, task_search_queries
from tenant_apps.tasks.models import Task, TaskSearchWord
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _found(team: Team, text: str) -> list[str]:
    response = team.client("Viewer").get("/api/v1/tasks/", {"search": text})
    assert response.status_code == 200, response.content
    return sorted(item["title"] for item in response.json()["results"])


@pytest.mark.django_db
def test_one_letter_typos_in_long_words_are_found(team):
    team.task("Write release notes")
    team.task("Reset the password")
    team.task("Fix the bug")
    for typo in ("relase", "relaese", "releasse", "rwlease", "erlease", "release"):
        assert _found(team, typo) == ["Write release notes"], typo
    assert _found(team, "relaese notse") == ["Write release notes"]
    assert _found(team, "passwrod") == ["Reset the password"]
    # Two typos in a six-letter word, or a short word with a typo, are not "one letter".
    assert _found(team, "rlaese") == []
    assert _found(team, "bgu") == []
    assert _found(team, "wrtie") == ["Write release notes"]


@pytest.mark.django_db
def test_every_word_must_match_some_title_word(team):
    team.task("Export the monthly report")
    team.task("Export users")
    team.task("Quarterly report", description="numbers to export")
    assert _found(team, "export report") == ["Export the monthly report", "Quarterly report"]
    assert _found(team, "exprot reprot") == ["Export the monthly report"]  # typos match titles only
    assert _found(team, "export") == ["Export the monthly report", "Export users", "Quarterly report"]
    assert _found(team, "export -users") == ["Export the monthly report", "Quarterly report"]
    assert _found(team, "export zebra") == []
    assert _found(team, "the report") == ["Export the monthly report", "Quarterly report"]  # stop words ignored


@pytest.mark.django_db
def test_russian_forms_prefixes_and_typos_are_found_word_by_word(team):
    team.task("Назначенные задачи просрочены")
    team.task("Задача без срока")
    assert _found(team, "назначена задача") == ["Назначенные задачи просрочены"]
    assert _found(team, "задачи") == ["Задача без срока", "Назначенные задачи просрочены"]
    assert _found(team, "назнач") == ["Назначенные задачи просрочены"]  # prefix
    assert _found(team, "просрчены задачи") == ["Назначенные задачи просрочены"]  # typo
    assert _found(team, "и задача") == ["Задача без срока", "Назначенные задачи просрочены"]  # stop word


@pytest.mark.django_db
def test_exact_matches_rank_before_typo_matches(team):
    team.task("Relase pipeline")  # a title with the typo in it
    team.task("Release pipeline")
    response = team.client("Viewer").get("/api/v1/tasks/", {"search": "release pipeline"})
    assert [item["title"] for item in response.json()["results"]] == ["Release pipeline", "Relase pipeline"]


@pytest.mark.django_db
def test_title_words_are_kept_by_the_database_and_in_the_organisations_schema(team, org_b):
    task = team.task("Initial wording")
    with schema_context(team.organization.schema_name):
        Task.objects.filter(pk=task.pk).update(title="Renamed цитадель 42x")
        state = team.web.states.first()
        Task.objects.bulk_create(
            [Task(project=team.web, state=state, number=900 + i, title=f"Bulk item{i}") for i in range(3)]
        )
        words = set(TaskSearchWord.objects.values_list("word", flat=True))
    assert {"initial", "wording", "renamed", "цитадель", "42x", "bulk", "item0", "item2"} <= words
    with schema_context(org_b.schema_name):
        assert not TaskSearchWord.objects.filter(word="wording").exists()
        # Written in org_a's schema even from a session whose search_path is org_b's.
        with connection.cursor() as cursor:
            sql = f'UPDATE "{team.organization.schema_name}".tasks_task SET title = %s WHERE id = %s'  # noqa: S608
            cursor.execute(sql, ["Zyzzyva", task.pk])
        assert not TaskSearchWord.objects.filter(word="zyzzyva").exists()
    with schema_context(team.organization.schema_name):
        assert TaskSearchWord.objects.filter(word="zyzzyva").exists()
    assert _found(team, "zyzzvya") == ["Zyzzyva"]


def test_typo_variants_cover_deletions_swaps_substitutions_and_insertions():
    exact, patterns = _typo_variants("abcde")
    assert {"bcde", "abce", "bacde", "abced"} <= set(exact)
    assert {"_bcde", "ab_de", "abcd_", "_abcde", "abc_de", "abcde_"} <= set(patterns)
    assert "abcde" not in exact


@pytest.mark.django_db
def test_search_queries_leave_out_what_the_words_own_prefixes_already_match(team):
    team.task("Payment fails")
    team.task("Payments export")
    team.task("Pament typo in a title")
    with schema_context(team.organization.schema_name):
        match, rank = task_search_queries("payment")
        typo_match, typo_rank = task_search_queries("paymnet")
        assert task_search_queries("the") == ("", "")  # only a stop word: nothing to match
    # "payment" and "payments" are in the dictionary, but `payment:*` finds them anywhere
    # already; "pament" is one typo away and only a title-weighted term finds it.
    assert match == "( 'payment':* | 'pament':A )"
    assert rank == "'payment':*"
    assert "'payment':A" in typo_match
    assert "'pament':A" not in typo_match  # two edits from "paymnet"
    assert typo_rank == "'paymnet':*"


@pytest.mark.django_db
def test_a_search_over_the_rank_limit_is_counted_to_it_and_ranked_page_by_page(team, monkeypatch):
    from tenant_apps.tasks.api import tasks as task_apis

    monkeypatch.setattr(task_apis, "SEARCH_RANK_LIMIT", 3)
    now = timezone.now()
    titles = ["Ledger one", "Ledger ledger two", "Ledger three", "Ledger ledger four", "Ledger five"]
    for minutes, title in enumerate(titles):
        task = team.task(title, description="about the ledger" if "two" in title else "")
        with schema_context(team.organization.schema_name):
            Task.objects.filter(pk=task.pk).update(updated_at=now + timedelta(minutes=minutes))
    client = team.client("Viewer")

    first = client.get("/api/v1/tasks/", {"search": "ledger", "page_size": 2}).json()
    # More matches than the limit: the count stops there, and the pages follow the
    # default order (most recently updated first), each ranked within itself.
    assert (first["count"], first["count_capped"], first["relevance_scope"]) == (3, True, "page")
    assert [item["title"] for item in first["results"]] == ["Ledger ledger four", "Ledger five"]
    second = client.get("/api/v1/tasks/", {"search": "ledger", "page_size": 2, "page": 2}).json()
    assert [item["title"] for item in second["results"]] == ["Ledger ledger two", "Ledger three"]
    third = client.get("/api/v1/tasks/", {"search": "ledger", "page_size": 2, "page": 3}).json()
    assert (third["count"], third["count_capped"], third["next"]) == (5, False, None)
    assert [item["title"] for item in third["results"]] == ["Ledger one"]
    last = client.get("/api/v1/tasks/", {"search": "ledger", "page_size": 2, "page": "last"}).json()
    assert (last["count"], last["count_capped"], last["relevance_scope"]) == (5, False, "page")
    assert [item["title"] for item in last["results"]] == ["Ledger one"]

    # At or under the limit every match is ranked: titles with the word twice first.
    narrow = client.get("/api/v1/tasks/", {"search": "ledger -one -five"}).json()
    assert (narrow["count"], narrow["count_capped"], narrow["relevance_scope"]) == (3, False, "all")
    assert [item["title"] for item in narrow["results"]][:2] == ["Ledger ledger two", "Ledger ledger four"]
    # Not ordered by relevance: no scope (the count stops at the limit or the page end).
    dated = client.get("/api/v1/tasks/", {"search": "ledger", "ordering": "-updated"}).json()
    assert (dated["count"], dated["count_capped"], dated["relevance_scope"]) == (5, False, None)
    plain = client.get("/api/v1/tasks/").json()
    assert plain["relevance_scope"] is None
