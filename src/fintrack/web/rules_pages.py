"""Rules: the ordered list with hit counts, a rule made from a transaction, and a dry run over the book's
history before anything is saved."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fintrack.budgets import flows as budget_flows
from fintrack.deps import SessionDep
from fintrack.errors import DomainError, InvalidInput
from fintrack.rules import history
from fintrack.rules import service as rules
from fintrack.rules.schemas import RuleCreate, RuleDraft, RuleUpdate
from fintrack.transactions import service as transactions
from fintrack.web import forms, lookups
from fintrack.web.render import Viewer, page, said, text
from fintrack.web.session import WebViewer

router = APIRouter(include_in_schema=False)
RuleId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def draft_from(data: dict[str, Any], me: Viewer) -> dict[str, Any]:
    """The rule form (one text condition, optional amount range and direction, a category) as a rule document."""
    conditions: list[dict[str, Any]] = []
    if data.get("value"):
        conditions.append(
            {"field": data.get("field", "text"), "op": data.get("op", "contains"), "value": data["value"]}
        )
    low, high = (lookups.amount(str(data[k]), me.language, k) if data.get(k) else None for k in ("min", "max"))
    if low is not None or high is not None:
        conditions.append({"field": "amount", "min": low, "max": high})
    if data.get("direction") in ("debit", "credit"):
        conditions.append({"field": "direction", "value": data["direction"]})
    category = str(data.get("category_id", ""))
    if not category.isdigit() or len(category) > 18:
        raise InvalidInput(text(me, "Choose the category the rule sets."), field="category_id")
    return {"match": "all", "conditions": conditions, "actions": {"category_id": int(category)}}


async def _page(request: Request, me: Viewer, session: SessionDep, status: int = 200, **extra: Any) -> HTMLResponse:
    assert me.access is not None
    extra.setdefault("form", {"field": "text", "op": "contains"})
    return page(
        request,
        me,
        "rules.html",
        status,
        title=text(me, "Rules"),
        rules=await rules.list_rules(session, me.access),
        categories=await lookups.categories(session, me.access),
        **extra,
    )


@router.get("/rules")
async def list_page(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    assert me.access is not None
    source = request.query_params.get("from_transaction", "")
    extra: dict[str, Any] = {}
    if source.isdigit() and len(source) < 19:
        item = await transactions.get(session, me.access, int(source))
        extra["form"] = {
            "name": item.payee or item.description,
            "field": "payee" if item.payee else "description",
            "op": "contains",
            "value": item.payee or item.description,
            "category_id": item.category_id,
            "direction": "debit" if item.amount.startswith("-") else "credit",
        }
    return await _page(request, me, session, **extra)


@router.post("/rules/dry-run")
async def dry_run(request: Request, me: WebViewer, session: SessionDep) -> HTMLResponse:
    assert me.access is not None
    data = await forms.fields(request)
    try:
        draft = forms.parse(RuleDraft, draft_from(data, me))
        result = await history.dry_run(session, me.access, draft, only_uncategorized=data.get("all") != "1", limit=20)
    except DomainError as problem:
        return page(request, me, "_errors.html", 422, error=said(me, problem))
    accounts = await lookups.accounts(session, me.access)
    return page(request, me, "_dry_run.html", result=result, accounts=accounts)


@router.post("/rules")
async def create(request: Request, me: WebViewer, session: SessionDep) -> Response:
    assert me.access is not None
    data = await forms.fields(request)
    try:
        body = forms.parse(RuleCreate, {"name": data.get("name", ""), **draft_from(data, me)})
        async with session.begin_nested():
            rule = await rules.create_rule(session, me.access, body)
            if data.get("apply") == "1":
                applied = await history.apply(session, me.access, rule.id, only_uncategorized=data.get("all") != "1")
                if applied.changed:
                    await budget_flows.spending_changed(session, me.access.id, [dt.date.today()])
    except DomainError as problem:
        return await _page(request, me, session, 422, error=said(me, problem), form=data)
    return RedirectResponse("/rules", status_code=303)


@router.post("/rules/{rule_id}/move")
async def move(request: Request, me: WebViewer, session: SessionDep, rule_id: RuleId) -> Response:
    assert me.access is not None
    way = (await forms.fields(request)).get("way")
    ids = [r.id for r in await rules.list_rules(session, me.access)]
    if rule_id in ids and way in ("up", "down"):
        at = ids.index(rule_id)
        to = max(0, at - 1) if way == "up" else min(len(ids) - 1, at + 1)
        ids[at], ids[to] = ids[to], ids[at]
        await rules.reorder(session, me.access, ids)
    return RedirectResponse("/rules", status_code=303)


@router.post("/rules/{rule_id}/toggle")
async def toggle(request: Request, me: WebViewer, session: SessionDep, rule_id: RuleId) -> Response:
    assert me.access is not None
    rule = await rules.get_rule(session, me.access, rule_id)
    await rules.update_rule(session, me.access, rule_id, RuleUpdate(enabled=not rule.enabled))
    return RedirectResponse("/rules", status_code=303)


@router.post("/rules/{rule_id}/delete")
async def delete(request: Request, me: WebViewer, session: SessionDep, rule_id: RuleId) -> Response:
    assert me.access is not None
    await rules.delete_rule(session, me.access, rule_id)
    return RedirectResponse("/rules", status_code=303)
