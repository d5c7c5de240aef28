"""The outbox and what it produces (DESIGN.md section 5).

A service that must notify writes an `Event` in the same transaction as its change. A
worker turns each event into at most one in-app `Notification` and one `EmailDelivery`
per recipient (unique per event and recipient: the channel is the table) and one
`WebhookDelivery` per matching webhook, then marks the event processed. Re-running an
event, or running it twice at once, adds nothing.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.tasks.models import Task


class EventKind(models.TextChoices):
    STATUS_CHANGED = "task.status_changed", _("Task status changed")
    COMMENT_ADDED = "comment.added", _("Comment added")
    ASSIGNED = "task.assigned", _("Assigned to you")
    UNASSIGNED = "task.unassigned", _("Unassigned from you")
    MENTIONED = "mention", _("You were mentioned")
    DUE_SOON = "task.due_soon", _("Task due soon")
    REPORT_READY = "report.ready", _("Report ready")
    BILLING_PAST_DUE = "billing.past_due", _("Payment failed")
    UNBLOCKED = "task.unblocked", _("Blocking task done")


# Kinds about something other than a task: no project to be able to see.
TASKLESS_KINDS = frozenset({EventKind.REPORT_READY, EventKind.BILLING_PAST_DUE})


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In-app")
    EMAIL = "email", _("Email")


class Event(models.Model):
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    # SET_NULL: an event outlives its task (the payload keeps what the texts need); the
    # worker then finds nobody who can still see it.
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField(default=dict, blank=True)
    # Events that must happen once per thing (a task due on a date) carry a key.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # How many times the re-dispatch job had to send it again.
    redispatched = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            # The re-dispatch job's scan: only the (few) unprocessed rows are indexed.
            models.Index(fields=["created_at"], condition=Q(processed_at__isnull=True), name="notif_event_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Notification(models.Model):
    """In-app channel."""

    recipient = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "recipient"], name="notif_notification_once")]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notif_notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notif_notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.event} for member {self.recipient_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Not sent: the recipient lost access (or the task is gone) before it went out.
    SKIPPED = "skipped", _("Skipped")


class Delivery(models.Model):
    """What every outgoing delivery tracks: its state, the attempts so far and when the
    next one is due (retries back off), the last error."""

    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class EmailDelivery(Delivery):
    """Email channel: one row per event and recipient; several pending rows of one
    recipient go out as one digest."""

    recipient = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="email_deliveries")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "recipient"], name="notif_email_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="notif_email_pending"),
        ]

    def __str__(self) -> str:
        return f"email of {self.event} to member {self.recipient_id}: {self.status}"


class Watcher(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="watchers")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "member"], name="notif_watcher_once")]
        indexes = [models.Index(fields=["member"], name="notif_watcher_member")]

    def __str__(self) -> str:
        return f"member {self.member_id} watches task {self.task_id}"


class Preference(models.Model):
    """A person's choice for one kind of event; no row means both channels on."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "kind"], name="notif_preference_once")]

    def __str__(self) -> str:
        return f"member {self.member_id}: {self.kind}"


class ProjectMute(models.Model):
    """No notifications at all about this project's tasks."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "project"], name="notif_project_mute_once")]

    def __str__(self) -> str:
        return f"member {self.member_id} muted project {self.project_id}"


class Webhook(models.Model):
    """An organisation-level endpoint that receives events as signed JSON."""

    url = models.URLField(max_length=500)
    # Needed in clear to sign each delivery (HMAC); shown to admins once, at creation.
    secret = models.CharField(max_length=64)
    # Empty: every kind.
    kinds = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(Delivery):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="webhook_deliveries")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["webhook", "event"], name="notif_webhook_delivery_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="notif_webhook_pending"),
            models.Index(fields=["webhook", "-id"], name="notif_webhook_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id}: {self.status}"
