from django.urls import path

from notices_api.accounts import apis

app_name = "accounts"

urlpatterns = [
    path("auth/token/", apis.AuthTokenApi.as_view(), name="token"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="logout"),
    path("auth/logout-all/", apis.LogoutAllApi.as_view(), name="logout-all"),
    path("me/", apis.MeApi.as_view(), name="me"),
    path("users/", apis.UserListApi.as_view(), name="users"),
]
