from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "notices_api.outbox"
    label = "outbox"
    verbose_name = "Outbox"
