"""Everything the API reads from its environment, read once into one object.

The chart, `botrader api` and `botrader up` set these variables; routes, the change feed and the
push stream take the object as a dependency instead of reading `os.environ` where they need a
value, so a test builds an app with exactly the settings it names and a worker process reads its
environment once. README's "API settings" table lists the same names (checked by tests/repo).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from botrader.core.settings import DEFAULT_DB_URL


class ApiSettings(BaseSettings):
    """One field per variable; `validation_alias` is the variable's name."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    db_url: str = Field(
        DEFAULT_DB_URL,
        validation_alias="BOTRADER_DB_URL",
        description="the database: a PostgreSQL URL or sqlite:///FILE (default sqlite:///botrader.db)",
    )
    control_token: SecretStr | None = Field(
        None,
        validation_alias="BOTRADER_API_TOKEN",
        description="bearer token for Start, Stop and Emergency stop; unset: control is off",
    )
    read_token: SecretStr | None = Field(
        None,
        validation_alias="BOTRADER_API_READ_TOKEN",
        description="when set, every read and /ws need a bearer token (this or the control token); "
        "/healthz and /metrics stay open",
    )
    control: Literal["none", "kubernetes"] = Field(
        "none",
        validation_alias="BOTRADER_CONTROL",
        description="none, or kubernetes: control patches TradingBots and the operator acts",
    )
    kube_api: str | None = Field(
        None,
        validation_alias="BOTRADER_KUBE_API",
        description="the Kubernetes API's URL outside a pod (e.g. kubectl proxy's)",
    )
    kubernetes_service_host: str | None = Field(
        None,
        validation_alias="KUBERNETES_SERVICE_HOST",
        description="set by Kubernetes in a pod: where control finds the API server",
    )
    kubernetes_service_port: str = Field(
        "443", validation_alias="KUBERNETES_SERVICE_PORT", description="set by Kubernetes with the host"
    )
    cache: bool = Field(
        True,
        validation_alias="BOTRADER_API_CACHE",
        description="on (default) or off: keep encoded answers until their rows change",
    )
    mlflow_tracking_uri: str | None = Field(
        None,
        validation_alias="MLFLOW_TRACKING_URI",
        description="the MLflow store that /models, /optimizations and /ws's training runs read",
    )
    auth_failures: int = Field(
        5,
        ge=1,
        validation_alias="BOTRADER_API_AUTH_FAILURES",
        description="wrong tokens one client may send per window before it gets 429 (default 5)",
    )
    auth_window_s: float = Field(
        60.0,
        gt=0,
        validation_alias="BOTRADER_API_AUTH_WINDOW",
        description="that window, in seconds (default 60)",
    )

    @field_validator("cache", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        return {"on": True, "off": False}.get(value, value) if isinstance(value, str) else value

    @field_validator("control_token", "read_token", "mlflow_tracking_uri", "kube_api", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def tokens_that_read(self) -> list[str]:
        """Who may read when reads are protected: the read token and the control token."""
        return [t.get_secret_value() for t in (self.read_token, self.control_token) if t is not None]


def variables() -> dict[str, str]:
    """Each variable and what it does (the README's table is checked against this)."""
    return {str(f.validation_alias): str(f.description) for f in ApiSettings.model_fields.values()}


async def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
