import re
import zoneinfo

from django.core.exceptions import ValidationError

_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin).")


def validate_locale(value: str) -> None:
    if not _LOCALE.match(value):
        raise ValidationError(f"{value!r} is not a locale tag (e.g. en, de-CH).")
