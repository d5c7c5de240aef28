from django.urls import path

import tenant_apps.projects.converters  # noqa: F401  (registers <project_key:...>)
from tenant_apps.tasks.api.attachments import AttachmentDetailApi, AttachmentListApi
from tenant_apps.tasks.api.comments import CommentDetailApi, CommentListApi
from tenant_apps.tasks.api.labels import LabelDetailApi, LabelListApi
from tenant_apps.tasks.api.relations import TaskRelationDetailApi, TaskRelationListApi
from tenant_apps.tasks.api.states import StateDetailApi, StateListApi
from tenant_apps.tasks.api.tasks import (
    AllTasksApi,
    TaskActivityApi,
    TaskChildrenApi,
    TaskDetailApi,
    TaskListApi,
    TaskMoveApi,
)

TASK = "projects/<project_key:key>/tasks/<int:number>"

urlpatterns = [
    path("tasks/", AllTasksApi.as_view(), name="api-tasks"),
    path("projects/<project_key:key>/tasks/", TaskListApi.as_view(), name="api-project-tasks"),
    path(f"{TASK}/", TaskDetailApi.as_view(), name="api-task-detail"),
    path(f"{TASK}/activity/", TaskActivityApi.as_view(), name="api-task-activity"),
    path(f"{TASK}/children/", TaskChildrenApi.as_view(), name="api-task-children"),
    path(f"{TASK}/comments/", CommentListApi.as_view(), name="api-task-comments"),
    path(
        f"{TASK}/comments/<int:comment_id>/",
        CommentDetailApi.as_view(),
        name="api-task-comment-detail",
    ),
    path("projects/<project_key:key>/labels/", LabelListApi.as_view(), name="api-project-labels"),
    path(
        "projects/<project_key:key>/labels/<int:label_id>/", LabelDetailApi.as_view(), name="api-project-label-detail"
    ),
    path(
        f"{TASK}/attachments/",
        AttachmentListApi.as_view(),
        name="api-task-attachments",
    ),
    path(
        f"{TASK}/attachments/<int:attachment_id>/",
        AttachmentDetailApi.as_view(),
        name="api-task-attachment-detail",
    ),
    path(f"{TASK}/move/", TaskMoveApi.as_view(), name="api-task-move"),
    # Relations (issue 15)
    path(f"{TASK}/relations/", TaskRelationListApi.as_view(), name="api-task-relations"),
    path(f"{TASK}/relations/<int:relation_id>/", TaskRelationDetailApi.as_view(), name="api-task-relation-detail"),
    # Workflow states (issue 15)
    path("projects/<project_key:key>/states/", StateListApi.as_view(), name="api-project-states"),
    path(
        "projects/<project_key:key>/states/<int:state_id>/", StateDetailApi.as_view(), name="api-project-state-detail"
    ),
]
