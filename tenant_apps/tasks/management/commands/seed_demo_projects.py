from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.tenants.models import Organization
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, Role
from tenant_apps.projects.services import project_create, project_member_set
from tenant_apps.tasks.models import TaskPriority, TaskStatus
from tenant_apps.tasks.services import comment_create, label_save, task_create

DEMO_TASKS = [
    ("Fix the login form on Safari", TaskStatus.IN_PROGRESS, TaskPriority.HIGH, ["bug"]),
    ("Design the pricing page", TaskStatus.TODO, TaskPriority.MEDIUM, ["design"]),
    ("Export invoices as CSV", TaskStatus.IN_REVIEW, TaskPriority.MEDIUM, []),
    ("Исправить перевод уведомлений", TaskStatus.TODO, TaskPriority.LOW, ["bug"]),
    ("Launch the new landing page", TaskStatus.DONE, TaskPriority.URGENT, ["design"]),
]


class Command(BaseCommand):
    help = "Give the demo organisation (idempotently) a project WEB with labels, tasks and a comment."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="acme")

    def handle(self, *args, slug, **options):
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organisation {slug!r}: run seed_demo first.")
        with schema_context(organization.schema_name):
            if Project.objects.filter(key="WEB").exists():
                return
            members = {member.email: member for member in Member.objects.all()}
            owner = members["owner@acme.test"]
            project = project_create(key="WEB", name="Website", actor=owner, description="The public website.")
            roles = {"member@acme.test": "Developer", "guest@acme.test": "Viewer"}
            for email, role in roles.items():
                project_member_set(project=project, member=members[email], role=Role.objects.get(name=role))
            labels = {name: label_save(project=project, name=name) for name in ("bug", "design")}
            for index, (title, status, priority, label_names) in enumerate(DEMO_TASKS):
                task = task_create(
                    project=project,
                    actor=owner,
                    title=title,
                    status=status,
                    priority=priority,
                    due_date=(timezone.now() + timedelta(days=3 * index + 2)).date(),
                    assignees=[members["member@acme.test"]] if index % 2 == 0 else [],
                    labels=[labels[name] for name in label_names],
                )
                if index == 0:
                    comment_create(task=task, actor=members["member@acme.test"], body="Reproduced on Safari 18.")
        self.stdout.write(f"Demo project WEB with {len(DEMO_TASKS)} tasks in {organization.name}.")
