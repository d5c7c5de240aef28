"""tests/timeline.py: the summary of a recorded run (TESSERA_TEST_TIMELINE)."""

from tests.timeline import summarise


def test_summary_gives_span_per_worker_browser_share_and_slowest_files(tmp_path):
    recorded = tmp_path / "timeline.tsv"
    recorded.write_text(
        "gw0\t100.0\t101.0\tsetup\tpassed\ttests/browser/test_a.py::test_one@browser-test_a\n"
        "gw0\t101.0\t111.0\tcall\tpassed\ttests/browser/test_a.py::test_one@browser-test_a\n"
        "gw1\t100.5\t102.5\tcall\tpassed\ttests/shared_apps/test_b.py::test_two\n"
        "gw1\t102.5\t103.0\tteardown\tpassed\ttests/shared_apps/test_b.py::test_two\n"
    )

    summary = summarise(str(recorded)).splitlines()

    assert summary[0] == "tests ran for 11 s (first start to last end)"
    assert summary[1] == "gw0: 1 tests, busy 11 s (browser 11 s), from +0 s to +11 s"
    assert summary[2] == "gw1: 1 tests, busy 2 s (browser 0 s), from +0 s to +3 s"
    assert summary[3] == "all tests: 14 s (setup 1 s, call 12 s, teardown 0 s); browser 11 s"
    assert summary[5:] == ["     11.0 s  tests/browser/test_a.py", "      2.5 s  tests/shared_apps/test_b.py"]


def test_summary_of_an_empty_recording(tmp_path):
    recorded = tmp_path / "timeline.tsv"
    recorded.write_text("")
    assert summarise(str(recorded)) == "no tests recorded"
