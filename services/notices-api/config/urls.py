from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from notices_api.core import admin_login
from notices_api.core import views as core_views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("notices_api.accounts.urls")),
    path("groups/", include("notices_api.groups.urls")),
    path("notices/", include("notices_api.notices.urls")),
    path("bench/baseline/", core_views.BenchBaselineView.as_view(), name="bench-baseline"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("admin/login/", admin_login.throttled_admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("console/", include("notices_api.console.urls")),
    path("", include("notices_api.web.urls")),
]

handler400 = core_views.bad_request
handler403 = core_views.permission_denied
handler404 = core_views.page_not_found
handler500 = core_views.server_error
