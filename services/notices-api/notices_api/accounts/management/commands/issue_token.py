"""``manage.py issue_token --username U``: print a new API token of an active user.

Tokens expire; a user without a password (``create_user`` without ``--password``) cannot
sign in for a new one, so the operator issues it here.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notices_api.accounts.models import User
from notices_api.accounts.services import auth_token_for


class Command(BaseCommand):
    help = "Print a new API token of an active user (it expires like every token)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.active().filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"There is no active user {options['username']!r}.")
        self.stdout.write(auth_token_for(user=user).token)
