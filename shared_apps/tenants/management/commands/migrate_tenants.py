import time

from django_tenants.management.commands import SyncCommon
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor

from shared_apps.tenants.migration_state import schemas_behind
from shared_apps.tenants.template import template_refresh


class Command(MigrateSchemasCommand):
    help = (
        "Migrate the template schema new organisations are cloned from, then the tenant "
        "schemas that are behind, skipping (with one SQL query) those already current. "
        "Accepts migrate_schemas' options; --all migrates every schema."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--all", action="store_true", help="Do not skip schemas that are already current.")

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
        behind = schemas_behind([self.schema_name] if self.schema_name else None)
        if behind:
            executor = get_executor(codename=self.executor)(self.args, self.options)
            executor.run_migrations(tenants=behind)
        if options["verbosity"] >= 1:
            template_note = f"; template schema was {template}" if template else ""
            self.stdout.write(
                f"migrate_tenants: {len(behind)} schema(s) migrated, the rest current{template_note} "
                f"({time.monotonic() - started:.2f}s)"
            )
