"""Data: copy each notice's inbox fields and each reader's receipt onto the recipient rows.

Reversible: going back, 0002's reversal drops the columns, so nothing needs undoing here.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery

FIELDS = ("status", "published_at", "visible_from", "visible_until", "category")


def fill(apps, schema_editor):
    Notice = apps.get_model("notices", "Notice")
    NoticeRecipient = apps.get_model("notices", "NoticeRecipient")
    ReadReceipt = apps.get_model("notices", "ReadReceipt")
    notice = Notice.objects.filter(pk=OuterRef("notice_id"))
    receipt = ReadReceipt.objects.filter(notice_id=OuterRef("notice_id"), user_id=OuterRef("user_id"))
    NoticeRecipient.objects.update(
        **{field: Subquery(notice.values(field)[:1]) for field in FIELDS},
        read_at=Subquery(receipt.values("read_at")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0002_inbox_rows"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
