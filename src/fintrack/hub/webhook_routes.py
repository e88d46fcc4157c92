"""HTTP for hub webhooks: the owner's management API, and the URL TradingView-style alerts are posted to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fintrack.deps import HubPublisher, SessionDep, SettingsDep
from fintrack.errors import DomainError
from fintrack.hub import webhooks
from fintrack.hub.errors import NotAllowed, SchemaViolation
from fintrack.hub.models import HubWebhook
from fintrack.hub.routes import caller
from fintrack.hub.schemas import PublishedOut
from fintrack.ops.metrics import HUB_WEBHOOK_REQUESTS
from fintrack.schemas import Name, Strict

router = APIRouter(tags=["hub webhooks"])
WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Token = Annotated[str, Path(min_length=1, max_length=200, description="The secret, or a body-secret hook's id")]


class WebhookIn(Strict):
    name: Name = Field(examples=["BTC breakout alerts"])
    channel: str = Field(min_length=1, max_length=200, examples=["signals.btcusdt"])
    secret_in: webhooks.SecretIn = Field(
        "path",
        description="path: the URL's last segment is the secret. body: the URL holds a public hook id and each "
        'alert carries the secret (JSON field "secret" or "passphrase", or a first line "secret=..." in text)',
    )
    allow: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(
        None,
        max_length=webhooks.MAX_ALLOW,
        examples=[["tradingview"]],
        description='Source IPs or CIDR networks allowed to call, or the preset "tradingview"; null: any',
    )
    dedupe_seconds: int = Field(
        60,
        ge=0,
        le=webhooks.MAX_DEDUPE_SECONDS,
        strict=True,  # false is not 0
        description="A body repeated within this window is not published again; 0: off",
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    channel: str
    secret_in: Literal["path", "body"]
    hook_id: str | None = Field(description="A body-secret webhook's public id (the URL's last segment)")
    path: str | None = Field(description="The URL path, when it holds no secret (body-secret webhooks)")
    secret_prefix: str = Field(description="The secret's first characters, to tell webhooks apart")
    allow: list[str] | None
    dedupe_seconds: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once: FinTrack keeps only its SHA-256 digest")
    path: str = Field(description="The URL path to post alerts to")
    url: str = Field(description="The full URL to paste into TradingView's Webhook URL box")
    message: str = Field(description="An alert message to start from, for TradingView's Message box")


def webhook_out(webhook: HubWebhook) -> WebhookOut:
    return WebhookOut.model_validate({**_columns(webhook), "path": webhooks.public_path(webhook)})


def _columns(webhook: HubWebhook) -> dict[str, Any]:
    return {c: getattr(webhook, c) for c in WebhookOut.model_fields if c != "path"}


def example_message(secret_in: str, secret: str) -> str:
    fields = '"ticker": "{{ticker}}", "action": "{{strategy.order.action}}", "close": {{close}}, "time": "{{timenow}}"'
    if secret_in == "body":  # noqa: S105 - where the secret goes, not a secret
        return f'{{"secret": "{secret}", {fields}}}'
    return f"{{{fields}}}"


@router.post(
    "/api/v1/hub/webhooks",
    status_code=status.HTTP_201_CREATED,
    summary="Create a webhook publishing alerts to a channel; its secret is shown once",
)
async def create_webhook(
    body: WebhookIn, principal: HubPublisher, session: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    made = await webhooks.create(
        session,
        caller(principal),
        name=body.name,
        channel=body.channel,
        secret_in=body.secret_in,
        allow=body.allow,
        dedupe_seconds=body.dedupe_seconds,
    )
    return WebhookCreated.model_validate(
        {
            **_columns(made.webhook),
            "secret": made.secret,
            "path": made.path,
            "url": settings.BASE_URL.rstrip("/") + made.path,
            "message": example_message(made.webhook.secret_in, made.secret),
        }
    )


@router.get("/api/v1/hub/webhooks", summary="Your webhooks (secrets are never shown again)")
async def list_webhooks(principal: HubPublisher, session: SessionDep) -> list[WebhookOut]:
    return [webhook_out(w) for w in await webhooks.mine(session, principal.user.id)]


@router.get("/api/v1/hub/webhooks/{webhook_id}", summary="One of your webhooks")
async def get_webhook(webhook_id: WebhookId, principal: HubPublisher, session: SessionDep) -> WebhookOut:
    return webhook_out(await webhooks.one(session, principal.user.id, webhook_id))


@router.delete("/api/v1/hub/webhooks/{webhook_id}", summary="Revoke a webhook: its URL stops working at once")
async def revoke_webhook(webhook_id: WebhookId, principal: HubPublisher, session: SessionDep) -> WebhookOut:
    return webhook_out(await webhooks.revoke(session, principal.user.id, webhook_id))


OUTCOMES: dict[type[DomainError], str] = {
    webhooks.WebhookNotFound: "not_found",
    webhooks.IpNotAllowed: "ip_not_allowed",
    webhooks.BodyTooLarge: "too_large",
    webhooks.NotUtf8: "not_utf8",
    SchemaViolation: "schema_violation",
    NotAllowed: "not_allowed",
}
ALERT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "examples": [{"ticker": "BTCUSDT", "close": 42000.5}]}},
        "text/plain": {"schema": {"type": "string", "minLength": 1, "examples": ["BTCUSDT crossed 42000"]}},
    },
}


@router.post(
    "/hooks/tradingview/{token}",
    status_code=status.HTTP_201_CREATED,
    response_model=PublishedOut,
    summary="Receive an alert (no Authorization: the URL or the body holds the webhook's secret)",
    responses={200: {"model": PublishedOut, "description": "A repeat within the dedupe window: the first's seq"}},
    openapi_extra={"requestBody": ALERT_BODY},
)
async def receive_alert(token: Token, request: Request) -> Response:
    # The token may be the secret: the access log gets the route, never the secret itself.
    redacted = webhooks.path_of(token[:4] + "...")
    request.scope["path"], request.scope["raw_path"] = redacted, redacted.encode()
    app = request.app
    try:
        published = await webhooks.receive(
            lambda: app.state.db.transaction(),
            _commits(app),
            token,
            await request.body(),
            request.client.host if request.client else None,
        )
    except DomainError as exc:
        outcome = next((o for kind, o in OUTCOMES.items() if isinstance(exc, kind)), "invalid")
        HUB_WEBHOOK_REQUESTS.labels(outcome=outcome).inc()
        raise
    HUB_WEBHOOK_REQUESTS.labels(outcome="duplicate" if published.duplicate else "published").inc()
    # Built directly: a burst is thousands of these, and the body is three fields (documented as PublishedOut).
    return JSONResponse(
        {"seq": published.seq, "epoch": published.epoch, "duplicate": published.duplicate},
        status_code=status.HTTP_200_OK if published.duplicate else status.HTTP_201_CREATED,
    )


def _commits(app: Any) -> webhooks.WebhookCommits:
    """The app's group committer for alerts (made at first use: app.state.db exists only once the app started)."""
    commits: webhooks.WebhookCommits | None = getattr(app.state, "hub_webhook_commits", None)
    if commits is None:
        commits = app.state.hub_webhook_commits = webhooks.WebhookCommits(
            lambda: app.state.db.transaction(), app.state.hub_broker
        )
    return commits
