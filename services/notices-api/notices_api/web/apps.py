from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "notices_api.web"
    label = "web"
