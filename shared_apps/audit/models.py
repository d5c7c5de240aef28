"""One audit entry: who did what to which object, when, and from where.

The app is listed in both SHARED_APPS and TENANT_APPS, so this table exists in `public`
(platform staff actions, users) and in every organisation's schema (that organisation's
account of itself). Which table an entry lands in is decided by audit_record
(services.py). No foreign keys: actors and targets are recorded by id and label, so an
entry outlives what it names and never ties a tenant table to a public one."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class ActorKind(models.TextChoices):
    USER = "user", "user"  # a person (user id; in an organisation, also their member)
    SYSTEM = "system", "system"  # a job, a command, test setup: no person
    STRIPE = "stripe", "Stripe"  # Stripe's webhooks


class AuditEntry(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user_id = models.BigIntegerField(null=True, blank=True)  # accounts.User id, no constraint
    actor_label = models.CharField(max_length=254, blank=True)  # email then, for a person
    actor_is_staff = models.BooleanField(default=False)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    before = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["action", "-created_at"], name="audit_action_created"),
            models.Index(fields=["actor_user_id", "-created_at"], name="audit_actor_created"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or self.actor_kind} {self.action} {self.target_label}"
        )
