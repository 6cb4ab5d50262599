"""How API calls authenticate: ``Authorization: Token <token>``, checked against knox's digests."""

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.models import AuthToken


class ExpiringTokenAuthentication(TokenAuthentication):  # type: ignore[misc]
    """knox's token authentication (an expired token is deleted and refused), without its
    sweep of the user's other expired tokens: that sweep costs every request a query.
    Those rows go when the user next signs in (``auth_token_for``)."""

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


class ExpiringTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The OpenAPI security scheme, named as before knox: ``tokenAuth``."""

    target_class = ExpiringTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix=self.target.authenticate_header(None),
        )
