"""The people's pages: sign-in and out, the inbox, a notice, the live unread count."""

from django.contrib.auth import views as auth_views
from django.urls import path

from notices_api.web import views

app_name = "web"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html", next_page="web:inbox"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="web:login"), name="logout"),
    path("", views.inbox, name="inbox"),
    path("notices/<uuid:notice_id>/", views.notice, name="notice"),
    path("events/unread/", views.unread_events, name="unread-events"),
    path("settings/", views.settings_page, name="settings"),
]
