import time

from django.conf import settings
from django.core.management.base import CommandError
from django_tenants.management.commands import SyncCommon
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from shared_apps.tenants.migration_state import schemas_behind
from shared_apps.tenants.rollout import report_summary, rollout
from shared_apps.tenants.template import template_refresh


class Command(MigrateSchemasCommand):
    help = (
        "Migrate the template schema new organisations are cloned from, then the tenant "
        "schemas that are behind, skipping (with one SQL query) those already current: the "
        "plan is worked out once per group of identically-migrated schemas, each schema then "
        "only applies it, under lock_timeout, on several processes with --processes; rerun "
        "after a failure to continue where it stopped (docs/operations.md). --all migrates "
        "every schema as migrate_schemas does."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--all", action="store_true", help="Do not skip schemas that are already current.")
        parser.add_argument(
            "--verify",
            action="store_true",
            help="Check every schema's django_migrations instead of trusting the public record of those "
            "found current before (a no-op then reads every schema: ~1 ms each).",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Schemas migrated at once (default: 1, or TENANT_MULTIPROCESSING_MAX_PROCESSES "
            "with --executor multiprocessing).",
        )
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=500,
            help="Milliseconds a migration's statement may wait for a lock before its schema is retried later "
            "(writers queue behind a waiting ALTER TABLE; default 500; 0 waits forever).",
        )
        parser.add_argument(
            "--lock-retries", type=int, default=10, help="Retries of a schema whose lock timed out (default 10)."
        )

    def handle(self, *args, **options):
        options["tenant"] = True
        options["shared"] = False
        SyncCommon.handle(self, *args, **options)
        started = time.monotonic()
        template = None
        if not self.schema_name and not options.get("app_label"):
            # First, so that schemas created from now on are copies of the new state
            # (older code still running refuses a template ahead of it and migrates).
            template = template_refresh(verbosity=options["verbosity"] - 1 if options["verbosity"] > 1 else 0)
        if options["all"] or options.get("app_label"):
            return super().handle(*args, **options)
        if options["lock_timeout"] < 0 or options["lock_retries"] < 0:
            raise CommandError("--lock-timeout and --lock-retries cannot be negative.")
        processes = options["processes"]
        if processes is None:
            multiprocessing = self.executor == "multiprocessing"
            processes = getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2) if multiprocessing else 1
        if processes < 1:
            raise CommandError("--processes must be at least 1.")
        verbosity = options["verbosity"]
        behind = schemas_behind([self.schema_name] if self.schema_name else None, verify=options["verify"])
        report = None
        if behind:
            report = rollout(
                behind,
                processes=processes,
                lock_timeout_ms=options["lock_timeout"],
                lock_retries=options["lock_retries"],
                database=options.get("database") or "default",
                verbosity=verbosity,
                write=self.stdout.write,
            )
            # Checked again and recorded, so the next no-op skips them with one query.
            schemas_behind([result.schema for result in report.migrated])
            if report.failed is not None:
                remaining = len(behind) - len(report.migrated)
                raise CommandError(
                    f"migrate_tenants stopped: {report.failed.schema} failed ({report.failed.error}). "
                    f"{len(report.migrated)} schema(s) migrated, {remaining} still behind; "
                    "fix the cause and run migrate_tenants again to continue with them."
                )
        if verbosity >= 1:
            template_note = f"; template schema was {template}" if template else ""
            self.stdout.write(
                f"migrate_tenants: {len(behind)} schema(s) migrated, the rest current{template_note} "
                f"({time.monotonic() - started:.2f}s)"
            )
            if report is not None:
                for line in report_summary(report):
                    self.stdout.write(f"migrate_tenants: {line}")
