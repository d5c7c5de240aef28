from django.urls import path

from tenant_apps.members.apis import (
    InvitationAcceptApi,
    InvitationDetailApi,
    InvitationListCreateApi,
    MemberDetailApi,
    MemberListApi,
)

urlpatterns = [
    path("members/", MemberListApi.as_view(), name="api-members"),
    path("members/<int:member_id>/", MemberDetailApi.as_view(), name="api-member-detail"),
    path("invitations/", InvitationListCreateApi.as_view(), name="api-invitations"),
    path("invitations/accept/", InvitationAcceptApi.as_view(), name="api-invitation-accept"),
    path("invitations/<int:invitation_id>/", InvitationDetailApi.as_view(), name="api-invitation-detail"),
]
