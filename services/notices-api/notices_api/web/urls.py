"""The people's pages: sign-in and out, the inbox, a notice."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView, TemplateView

app_name = "web"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", TemplateView.as_view(template_name="web/base.html"), name="inbox"),
    path(
        "notices/<uuid:notice_id>/",
        RedirectView.as_view(pattern_name="notices:detail"),
        name="notice",
    ),
]
