from django.db import models
from django.utils.translation import gettext_lazy as _


class Member(models.Model):
    """The organisation's view of a person (tenant schema).

    `user_id` names the public `accounts.User` without a database foreign key: hundreds of
    schemas each holding a constraint to one user table make deleting any user fail and
    send Django's delete collector into tables public does not have (DESIGN.md section 3).
    Every tenant table that refers to a person points here instead."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")
        GUEST = "guest", _("Guest")

    user_id = models.BigIntegerField(unique=True)
    email = models.EmailField()
    display_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    language = models.CharField(max_length=8, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "email"]

    def __str__(self) -> str:
        return self.display_name or self.email
