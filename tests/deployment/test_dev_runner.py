"""The development runner (platform/dev.py) started for real, as a subprocess."""

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from tests.deployment.runner_support import ROOT, Runner, free_port, runner_env


@pytest.mark.skipif(os.geteuid() != 0, reason="the services drop to tessera_pg only when started as root")
def test_services_start_as_root_from_a_checkout_only_root_can_enter():
    """A checkout under a 0700 root-owned directory (/root/..., `mktemp -d`): the servers run
    as tessera_pg and must reach their data through the "other" bits the runner opens, not
    through root's group ids (which they would keep without `group=`/`extra_groups=[]`)."""
    parent = Path(tempfile.mkdtemp(prefix="tessera-root-only-"))
    try:
        assert stat.S_IMODE(parent.stat().st_mode) == 0o700
        assert parent.stat().st_uid == 0
        checkout = parent / "tessera"
        (checkout / "platform").mkdir(parents=True)
        shutil.copy(ROOT / "platform" / "dev.py", checkout / "platform" / "dev.py")
        (checkout / "config").mkdir()
        shutil.copy(ROOT / "config" / "embedded.py", checkout / "config" / "embedded.py")
        env = runner_env(TESSERA_PG_PORT=str(free_port()), TESSERA_REDIS_PORT=str(free_port()))
        runner = Runner(checkout / "platform" / "dev.py", "services", env)
        try:
            runner.wait_for_line("REDIS_URL=", 120)
            assert (checkout / ".data" / "postgres" / "PG_VERSION").is_file()
            assert f"DATABASE_URL=postgres://postgres@127.0.0.1:{env['TESSERA_PG_PORT']}/" in runner.output
        finally:
            assert runner.stop() == 0, runner.output[-4000:]
        assert "stopping embedded PostgreSQL" in runner.output
    finally:
        shutil.rmtree(parent, ignore_errors=True)
