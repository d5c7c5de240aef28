from django.urls import path

from tenant_apps.tasks.apis import (
    AllTasksApi,
    AttachmentDetailApi,
    AttachmentListApi,
    CommentDetailApi,
    CommentListApi,
    LabelDetailApi,
    LabelListApi,
    TaskActivityApi,
    TaskDetailApi,
    TaskListApi,
    TaskMoveApi,
    UsageApi,
)

urlpatterns = [
    path("tasks/", AllTasksApi.as_view(), name="api-tasks"),
    path("projects/<str:key>/tasks/", TaskListApi.as_view(), name="api-project-tasks"),
    path("projects/<str:key>/tasks/<int:number>/", TaskDetailApi.as_view(), name="api-task-detail"),
    path("projects/<str:key>/tasks/<int:number>/activity/", TaskActivityApi.as_view(), name="api-task-activity"),
    path("projects/<str:key>/tasks/<int:number>/comments/", CommentListApi.as_view(), name="api-task-comments"),
    path(
        "projects/<str:key>/tasks/<int:number>/comments/<int:comment_id>/",
        CommentDetailApi.as_view(),
        name="api-task-comment-detail",
    ),
    path("projects/<str:key>/labels/", LabelListApi.as_view(), name="api-project-labels"),
    path("projects/<str:key>/labels/<int:label_id>/", LabelDetailApi.as_view(), name="api-project-label-detail"),
    path(
        "projects/<str:key>/tasks/<int:number>/attachments/", AttachmentListApi.as_view(), name="api-task-attachments"
    ),
    path(
        "projects/<str:key>/tasks/<int:number>/attachments/<int:attachment_id>/",
        AttachmentDetailApi.as_view(),
        name="api-task-attachment-detail",
    ),
    path("projects/<str:key>/tasks/<int:number>/move/", TaskMoveApi.as_view(), name="api-task-move"),
    path("usage/", UsageApi.as_view(), name="api-usage"),
]
