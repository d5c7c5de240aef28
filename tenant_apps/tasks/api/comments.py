"""Comments on a task."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from shared_apps.core.markup import markdown_html_many
from shared_apps.core.pagination import TesseraPagination, paginated
from tenant_apps.projects.permissions import ProjectScopedApi, project_permissions
from tenant_apps.tasks.models import Comment
from tenant_apps.tasks.permissions import access_comment, access_task
from tenant_apps.tasks.serializers import CommentInputSerializer, CommentOutputSerializer
from tenant_apps.tasks.services import comment_create, comment_delete, comment_update


class CommentListApi(ProjectScopedApi):
    required_permissions = {"GET": "project.view", "POST": "comment.create"}

    @extend_schema(operation_id="task_comments_list", responses=paginated(CommentOutputSerializer))
    def get(self, request, key: str, number: int):
        """The task's comments, oldest first."""
        task = access_task(member=self.member, project=self.project, number=number)
        comments = Comment.objects.filter(task=task).select_related("author").order_by("created_at", "pk")
        paginator = TesseraPagination()
        page = paginator.paginate_queryset(comments, request, view=self)
        rendered = dict(zip((c.pk for c in page), markdown_html_many([c.body for c in page]), strict=True))
        data = CommentOutputSerializer(page, many=True, context={"body_html": rendered}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=CommentInputSerializer,
        responses={201: CommentOutputSerializer},
        examples=[OpenApiExample("Comment", request_only=True, value={"body": "Reproduced on **Firefox** too."})],
    )
    def post(self, request, key: str, number: int):
        task = access_task(member=self.member, project=self.project, number=number)
        serializer = CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = comment_create(task=task, actor=self.member, body=serializer.validated_data["body"])
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentDetailApi(ProjectScopedApi):
    required_permissions = {"PATCH": "comment.create", "DELETE": "project.view"}

    @extend_schema(request=CommentInputSerializer, responses={200: CommentOutputSerializer})
    def patch(self, request, key: str, number: int, comment_id: int):
        """Edit your own comment (it is marked edited)."""
        comment = access_comment(member=self.member, project=self.project, number=number, comment_id=comment_id)
        serializer = CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = comment_update(comment=comment, actor=self.member, body=serializer.validated_data["body"])
        return Response(CommentOutputSerializer(updated).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted.")})
    def delete(self, request, key: str, number: int, comment_id: int):
        """Delete your own comment, or anyone's with comment.moderate."""
        comment = access_comment(member=self.member, project=self.project, number=number, comment_id=comment_id)
        may_moderate = "comment.moderate" in project_permissions(member=self.member, project=self.project)
        comment_delete(comment=comment, actor=self.member, may_moderate=may_moderate)
        return Response(status=status.HTTP_204_NO_CONTENT)
