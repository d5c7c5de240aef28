from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shared_apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from shared_apps.accounts import (
            audit,
            schema,  # noqa: F401  (registers the OpenAPI auth scheme)
            webauthn,
        )

        webauthn.install()
        audit.install()
