"""Saved views: a named set of task filters, an ordering, a layout and the visible
columns of one project, private to its owner or shared with the project."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project


class ViewLayout(models.TextChoices):
    BOARD = "board", _("Board")
    LIST = "list", _("List")


class SavedView(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="saved_views")
    owner = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=80)
    shared = models.BooleanField(default=False)
    layout = models.CharField(max_length=8, choices=ViewLayout.choices, default=ViewLayout.LIST)
    # The task list's query parameters (the API's names, custom fields' `field_<id>`
    # included): {"status": ["todo"], "field_3": ["7"]}, validated on save.
    filters = models.JSONField(default=dict, blank=True)
    ordering = models.CharField(max_length=40, blank=True)
    # Column names of the list: built-ins ("status", "priority", ...) and `field_<id>`.
    columns = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(layout__in=ViewLayout.values), name="savedviews_layout_valid"),
        ]
        indexes = [
            models.Index(fields=["project", "shared"], name="savedviews_project_shared"),
            models.Index(fields=["owner", "project"], name="savedviews_owner_project"),
        ]

    def __str__(self) -> str:
        return self.name
