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

# (title, status, priority, labels, due in days (None: no date; negative: overdue), assignee);
# IN_REVIEW: the default workflow's "In review" state (category in progress).
IN_REVIEW = "In review"
DEMO_TASKS = [
    ("Fix the login form on Safari", TaskStatus.IN_PROGRESS, TaskPriority.HIGH, ["bug"], 2, "member"),
    ("Design the pricing page", TaskStatus.TODO, TaskPriority.MEDIUM, ["design"], 9, "admin"),
    ("Export invoices as CSV", IN_REVIEW, TaskPriority.MEDIUM, ["feature"], 5, "member"),
    ("Исправить перевод уведомлений", TaskStatus.TODO, TaskPriority.LOW, ["bug"], None, None),
    ("Launch the new landing page", TaskStatus.DONE, TaskPriority.URGENT, ["design"], -4, "owner"),
    ("Cookie banner overlaps the footer on phones", TaskStatus.TODO, TaskPriority.HIGH, ["bug"], -1, "member"),
    ("Write the onboarding email sequence", TaskStatus.TODO, TaskPriority.MEDIUM, ["content"], 12, "admin"),
    ("Dark mode for the documentation", TaskStatus.TODO, TaskPriority.LOW, ["design", "feature"], None, None),
    ("Compress hero images (WebP)", TaskStatus.IN_PROGRESS, TaskPriority.MEDIUM, ["performance"], 4, "member"),
    ("Add a status page link to the footer", IN_REVIEW, TaskPriority.LOW, [], 1, "owner"),
    ("Search results show drafts", TaskStatus.IN_PROGRESS, TaskPriority.URGENT, ["bug"], 0, "admin"),
    ("Обновить политику конфиденциальности", TaskStatus.TODO, TaskPriority.MEDIUM, ["content"], 20, None),
    ("Migrate analytics to the new provider", TaskStatus.CANCELLED, TaskPriority.LOW, [], None, None),
    ("Customer stories page", TaskStatus.DONE, TaskPriority.MEDIUM, ["content", "design"], -10, "member"),
    ("404 page in the new look", TaskStatus.DONE, TaskPriority.LOW, ["design"], -7, "admin"),
]
LABEL_COLORS = {
    "bug": "#d1242f",
    "design": "#8250df",
    "feature": "#1a7f37",
    "content": "#bf8700",
    "performance": "#0969da",
}
COMMENTS = [
    ("member", "Reproduced on Safari 18; Chrome is fine."),
    ("owner", "Thanks! @admin@acme.test can you review the fix tomorrow?"),
]


class Command(BaseCommand):
    help = "Give the demo organisation (idempotently) projects WEB and MOB with labels, tasks and comments."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="acme")

    def handle(self, *args, slug, **options):
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organisation {slug!r}: run seed_demo first.")
        with schema_context(organization.schema_name):
            if Project.objects.filter(key="WEB").exists():
                return
            members = {member.email.split("@")[0]: member for member in Member.objects.all()}
            owner = members["owner"]
            project = project_create(key="WEB", name="Website", actor=owner, description="The public website.")
            roles = {"member": "Developer", "admin": "Project Manager", "guest": "Viewer"}
            for name, role in roles.items():
                if name in members:
                    project_member_set(project=project, member=members[name], role=Role.objects.get(name=role))
            labels = {
                name: label_save(project=project, name=name, color=color, actor=owner)
                for name, color in LABEL_COLORS.items()
            }
            today = timezone.localdate()
            in_review = project.states.get(name=IN_REVIEW)
            for index, (title, status, priority, label_names, due, assignee) in enumerate(DEMO_TASKS):
                task = task_create(
                    project=project,
                    actor=owner,
                    title=title,
                    description="" if index % 3 else "Steps, notes and links go here, in **Markdown**.",
                    state=in_review if status == IN_REVIEW else None,
                    status=None if status == IN_REVIEW else status,
                    priority=priority,
                    due_date=today + timedelta(days=due) if due is not None else None,
                    assignees=[members[assignee]] if assignee in members else [],
                    labels=[labels[name] for name in label_names],
                )
                if index == 0:
                    for author, body in COMMENTS:
                        comment_create(task=task, actor=members[author], body=body)
            mobile = project_create(key="MOB", name="Mobile app", actor=owner, description="iOS and Android.")
            project_member_set(project=mobile, member=members["member"], role=Role.objects.get(name="Developer"))
            for title in ("Push notifications for mentions", "Offline mode for the board", "App store screenshots"):
                task_create(project=mobile, actor=owner, title=title)
        self.stdout.write(f"Demo projects WEB ({len(DEMO_TASKS)} tasks) and MOB in {organization.name}.")
