from django.urls import path

from notices_api.notices import apis

app_name = "notices"

urlpatterns = [
    path("", apis.NoticeListApi.as_view(), name="list"),
    path("unread-count/", apis.NoticeUnreadCountApi.as_view(), name="unread-count"),
    path("<uuid:notice_id>/", apis.NoticeDetailApi.as_view(), name="detail"),
    path("<uuid:notice_id>/publish/", apis.NoticePublishApi.as_view(), name="publish"),
    path("<uuid:notice_id>/archive/", apis.NoticeArchiveApi.as_view(), name="archive"),
    path("<uuid:notice_id>/read/", apis.NoticeReadApi.as_view(), name="read"),
    path("<uuid:notice_id>/receipts/", apis.NoticeReceiptsApi.as_view(), name="receipts"),
]
