from django.urls import path

from notices_api.groups import apis

app_name = "groups"

urlpatterns = [
    path("", apis.GroupListApi.as_view(), name="list"),
    path("<uuid:group_id>/", apis.GroupDetailApi.as_view(), name="detail"),
    path("<uuid:group_id>/members/", apis.GroupMemberListApi.as_view(), name="members"),
    path(
        "<uuid:group_id>/members/<uuid:user_id>/",
        apis.GroupMemberDetailApi.as_view(),
        name="member",
    ),
]
