from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "notices_api.core"
    label = "core"
