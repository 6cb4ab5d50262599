from typing import Any

from django.apps import AppConfig
from django.db.models.signals import pre_delete


def _announce_creation(sender: type, user: Any, **kwargs: Any) -> None:
    from notices_api.accounts.services import recipient_changes_record

    recipient_changes_record(user=user, before=None)


def _announce_deletion(sender: type, instance: Any, **kwargs: Any) -> None:
    from notices_api.accounts.services import recipient_deletion_record

    recipient_deletion_record(user=instance)


class AccountsConfig(AppConfig):
    name = "notices_api.accounts"
    label = "accounts"

    def ready(self) -> None:
        from notices_api.accounts.models import user_created

        user = self.get_model("User")
        user_created.connect(_announce_creation, sender=user, dispatch_uid="recipient-created")
        # pre_delete, not a delete() override: QuerySet.delete (bulk, and the admin's
        # delete action) never calls Model.delete, but sends this for every row, inside
        # the deleting transaction.
        pre_delete.connect(_announce_deletion, sender=user, dispatch_uid="recipient-deleted")
