from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "notices_api.accounts"
    label = "accounts"
