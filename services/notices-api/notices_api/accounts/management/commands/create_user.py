"""``manage.py create_user --username U --email E [--publisher] [--password P]``.

Prints an API token of the new user (it expires, see REST_KNOX), for scripts, demos and tests.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notices_api.accounts.services import auth_token_for, user_create


class Command(BaseCommand):
    help = "Create a user (optionally a publisher) and print its API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--password", help="without one the user cannot sign in; issue_token prints new tokens"
        )
        parser.add_argument("--display-name", default="")
        parser.add_argument("--publisher", action="store_true", help="may manage groups, notices")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = user_create(
                username=options["username"],
                email=options["email"],
                password=options["password"],
                display_name=options["display_name"],
                is_publisher=options["publisher"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(auth_token_for(user=user).token)
