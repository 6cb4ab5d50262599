from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "notices_api.groups"
    label = "groups"
    verbose_name = "Recipient groups"
