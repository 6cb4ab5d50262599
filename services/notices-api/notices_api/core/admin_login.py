"""The admin sign-in, throttled like the token endpoint (the same ``auth`` rate and count)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import SimpleRateThrottle

from notices_api.core.problems import problem_response


class SignInThrottle(SimpleRateThrottle):
    # The token endpoint's scope: guesses at either door count against one limit.
    scope = "auth"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttled_admin_login(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    if request.method == "POST":
        throttle = SignInThrottle()
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            wait = throttle.wait() or 1
            response = problem_response(
                request,
                status=429,
                detail=f"Too many sign-in attempts; retry in {int(wait)} seconds.",
            )
            response["Retry-After"] = str(int(wait))
            return response
    return admin.site.login(request, **kwargs)
