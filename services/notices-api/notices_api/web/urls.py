from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from notices_api.web import views

app_name = "web"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="web:inbox"), name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/unread-stream/", views.unread_stream, name="unread_stream"),
    path("notices/<uuid:notice_id>/", views.notice, name="notice"),
    path("settings/", views.settings_page, name="settings"),
]
