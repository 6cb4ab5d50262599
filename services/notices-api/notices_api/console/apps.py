from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "notices_api.console"
    label = "console"
