from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "notices_api.notices"
    label = "notices"
