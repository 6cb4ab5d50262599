from django.urls import path

from notices_api.console import views

app_name = "console"

urlpatterns = [
    path("", views.notice_list, name="notices"),
    path("notices/new/", views.notice_create, name="notice-create"),
    path("notices/<uuid:notice_id>/", views.notice_detail, name="notice"),
    path("notices/<uuid:notice_id>/edit/", views.notice_edit, name="notice-edit"),
    path("notices/<uuid:notice_id>/publish/", views.notice_publish_view, name="notice-publish"),
    path("notices/<uuid:notice_id>/archive/", views.notice_archive_view, name="notice-archive"),
    path("notices/<uuid:notice_id>/receipts/", views.notice_receipts, name="receipts"),
    path(
        "notices/<uuid:notice_id>/receipts/table/",
        views.notice_receipts_partial,
        name="receipts-table",
    ),
    path("audience/count/", views.audience_count, name="audience-count"),
    path("groups/", views.groups, name="groups"),
    path("groups/<uuid:group_id>/", views.group_detail, name="group"),
    path(
        "groups/<uuid:group_id>/members/<uuid:user_id>/remove/",
        views.group_member_remove_view,
        name="group-member-remove",
    ),
]
