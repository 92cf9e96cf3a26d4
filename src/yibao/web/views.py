"""The console's pages: server-rendered Jinja2, htmx for partial updates, Chinese first.

Every route calls the records service directly (not the REST API over HTTP) and applies the API's
region rule (``yibao.api.access``): a person outside the clerk's regions is a Chinese 403 page. Errors
never reach the user as a traceback: :class:`ConsoleRoute` turns a ``YibaoError`` into a page with its
message, and anything unexpected into a 500 page with a reference (the log line has the rest).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from urllib.parse import quote as urlquote

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from yibao.api import present
from yibao.api.access import check_region, list_regions
from yibao.api.deps import Context, context, visible_person
from yibao.api.duplicate_access import count_cases
from yibao.api.errors import LOGIN_FAILED, ROLE_FORBIDDEN, status_for
from yibao.api.logs import mask_text
from yibao.api.security import ADMINISTRATOR, AUDITOR, CLERK, WRITERS, Principal
from yibao.codes import rows
from yibao.errors import YibaoError, define
from yibao.ids import mask
from yibao.rules.entitlement import answer_coverage
from yibao.service.duplicates import DuplicatesService

from . import i18n, queries, session
from .actions import ACTIONS, Action, Env, FormErrors, form_field
from .charts import bars
from .timeline_svg import draw

log = logging.getLogger("yibao.web")

PAGE_NOT_FOUND = define("PAGE_NOT_FOUND", "没有该页面", "no such page")
SEARCH_EMPTY = define("SEARCH_EMPTY", "请输入证件号码或姓名", "enter a document number or a name")
CONSOLE_INTERNAL = define("CONSOLE_INTERNAL", "内部错误，未做任何更改（参考编号 {ref}）", "internal error; nothing was changed (reference {ref})")

ROLE_ZH = {CLERK: "经办员", AUDITOR: "审计员", ADMINISTRATOR: "管理员"}
FLASH_COOKIE = "yibao_flash"


# ------------------------------------------------------------------------------------------ rendering


@cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("yibao.web", "templates"), autoescape=select_autoescape(["html", "svg"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["mask"] = mask
    env.globals["zip"] = zip
    return env


@cache
def _code_names() -> dict[tuple[str, str], tuple[str, str]]:
    out = {}
    for table in ("insutype", "psn_type", "cert_type", "insu_status"):
        for r in rows(table):
            out[(table, r.code)] = (r.name_zh, r.name_en)
    return out


def _label_for(lang: str) -> Callable[[str, str], str]:
    names = _code_names()

    def label(table: str, code: str) -> str:
        zh_en = names.get((table, str(code)))
        if zh_en is None:
            return str(code)
        return zh_en[1] if lang == "en" else zh_en[0]

    return label


@dataclass
class Page:
    request: Request
    ctx: Context
    principal: Principal | None
    token: str | None
    lang: str

    @property
    def _(self) -> Callable[..., str]:
        return i18n.gettext_for(self.lang)

    def region_name(self, region: str) -> str:
        policy = self.ctx.service.policy
        pack = policy.packs.get(region)
        if self.lang == "en" and pack is not None and pack.name_en:
            return pack.name_en
        return policy.region_name(region)

    def message(self, exc: YibaoError) -> str:
        return exc.message_en if self.lang == "en" else exc.message_zh

    def render(self, template: str, status: int = 200, headers: dict[str, str] | None = None, **values: Any) -> HTMLResponse:
        p = self.principal
        base = {
            "_": self._,
            "lang": self.lang,
            "principal": p,
            "role_name": self._(ROLE_ZH.get(p.role, p.role)) if p else "",
            "csrf": session.csrf_token(self.token) if self.token else "",
            "path": self.request.url.path,
            "full_path": str(self.request.url.path) + (f"?{self.request.url.query}" if self.request.url.query else ""),
            "label": _label_for(self.lang),
            "region_name": self.region_name,
            "msg": self.message,
            "writer": p is not None and p.role in WRITERS,
            "today": self.ctx.service.today(),
            "flash": _read_flash(self.request),
        }
        html = _env().get_template(template).render(**base, **values)
        response = HTMLResponse(html, status_code=status, headers=headers)
        if base["flash"]:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response


def _page(request: Request, *, login: bool = True) -> Page:
    who = session.current(request)
    lang = i18n.language(request.cookies.get(i18n.COOKIE))
    page = Page(request, context(request), who[0] if who else None, who[1] if who else None, lang)
    if login and who is None:
        raise YibaoError(session.LOGIN_REQUIRED, field=None)
    return page


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _redirect(request: Request, url: str) -> Response:
    if _is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _set_flash(response: Response, text_zh_msgid: str, values: dict[str, Any], notices: tuple = ()) -> None:
    data = {"m": text_zh_msgid, "v": {k: str(v) for k, v in values.items()}, "n": [[n.message_zh, n.message_en] for n in notices]}
    raw = base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False).encode("utf-8")).decode("ascii")
    response.set_cookie(FLASH_COOKIE, raw, max_age=120, httponly=True, samesite="strict", path="/")


def _read_flash(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")).decode("utf-8"))
        return {"m": str(data["m"]), "v": {str(k): str(v) for k, v in dict(data["v"]).items()}, "n": [(str(a), str(b)) for a, b in data.get("n", [])]}
    except (ValueError, KeyError, TypeError):
        return None


def _error_page(request: Request, exc: YibaoError, status: int) -> Response:
    try:
        page = _page(request, login=False)
    except Exception:  # noqa: BLE001 - the context itself is broken: a bare page, never a traceback
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><h1>{status}</h1>", status_code=status)
    return page.render("error.html", status=status, error=exc, status_code=status)


class ConsoleRoute(APIRoute):
    """A console route: errors become Chinese pages (never a traceback, never JSON)."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except YibaoError as exc:
                if exc.code == session.LOGIN_REQUIRED:
                    return _redirect(request, "/login?next=" + urlquote(request.url.path if request.method == "GET" else "/", safe="/"))
                return _error_page(request, exc, status_for(exc.code))
            except RequestValidationError:
                return _error_page(request, YibaoError(PAGE_NOT_FOUND), 404)
            except Exception as exc:  # never a traceback to a user
                ref = uuid.uuid4().hex[:12]
                log.exception("console error %s on %s: %s", ref, mask_text(request.url.path), mask_text(type(exc).__name__))
                return _error_page(request, YibaoError(CONSOLE_INTERNAL, ref=ref), 500)

        return route


router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _posted(request: Request) -> tuple[Page, Principal, dict[str, str]]:
    """A logged-in caller's form, its CSRF field checked."""
    page = _page(request)
    values = await _form(request)
    assert page.token is not None and page.principal is not None
    session.check_csrf(page.token, values.get("csrf"))
    return page, page.principal, values


# ------------------------------------------------------------------------------------------ login


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value and not value.startswith("/login"):
        return value
    return "/"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    page = _page(request, login=False)
    if page.principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    token = session.new_login_csrf()
    response = page.render("login.html", login_csrf=token, next=_safe_next(next), values={}, error=None)
    response.set_cookie(session.LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    page = _page(request, login=False)
    values = await _form(request)
    session.check_login_csrf(request, values.get("csrf"))
    username, password = values.get("username", "").strip(), values.get("password", "")
    try:
        if not username or not password:
            raise YibaoError(LOGIN_FAILED, field="username")
        secret, _token, _user = await run_in_threadpool(page.ctx.access.login, username, password)
    except YibaoError as exc:
        new = session.new_login_csrf()
        response = page.render("login.html", status=401, login_csrf=new, next=_safe_next(values.get("next")), values={"username": username}, error=exc)
        response.set_cookie(session.LOGIN_CSRF_COOKIE, new, max_age=3600, httponly=True, samesite="strict", path="/login")
        return response
    response = RedirectResponse(_safe_next(values.get("next")), status_code=303)
    session.set_session(response, secret, int(page.ctx.access.session_ttl.total_seconds()), secure=request.url.scheme == "https")
    response.delete_cookie(session.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    page, principal, _values = await _posted(request)
    page.ctx.access.revoke_token(principal.token_id)
    response = RedirectResponse("/login", status_code=303)
    session.clear_session(response)
    return response


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: str, next: str = "/") -> Response:
    response = RedirectResponse(_safe_next(next) if next != "/login" else "/login", status_code=303)
    response.set_cookie(i18n.COOKIE, i18n.language(lang), max_age=365 * 86400, samesite="lax", path="/")
    return response


# ------------------------------------------------------------------------------------------ search


def _cert_choices(page: Page) -> list[tuple[str, str]]:
    label = _label_for(page.lang)
    return [(r.code, f"{r.code} {label('cert_type', r.code)}") for r in rows("cert_type")]


@router.get("/")
def home(request: Request) -> Response:
    page = _page(request)
    return page.render("search.html", cert_types=_cert_choices(page), values={"cert_type": "01"}, results=None, error=None, more=False)


@router.post("/search")
async def search(request: Request) -> Response:
    page, principal, values = await _posted(request)
    number, name = values.get("number", "").strip(), values.get("name", "").strip()
    svc = page.ctx.service
    results: list[dict[str, Any]] = []
    more = False
    try:
        if number:
            psn_no = svc.find_person(values.get("cert_type", "01"), number, values.get("nationality") or None)
            if psn_no is not None:
                scope = visible_person(page.ctx, principal, psn_no)  # another region's person: a 403 page
                facts = svc.facts(psn_no)
                results.append({"psn_no": psn_no, "name": facts.name, "birth_date": facts.birth_date, "sex": facts.sex, "regions": sorted(scope.regions),
                                "documents": [(d.cert_type.value, mask(d.number)) for d in facts.documents]})
        elif name:
            with svc.sessions() as s:
                found, more = queries.persons_by_name(s, name, list_regions(principal, None))
            results = [{"psn_no": f.psn_no, "name": f.name, "birth_date": f.birth_date, "sex": f.sex, "regions": None,
                        "documents": [(c, mask(n)) for c, n in f.documents]} for f in found]
        else:
            raise YibaoError(SEARCH_EMPTY, field="number")
    except YibaoError as exc:
        if exc.code in ("REGION_FORBIDDEN", "ROLE_FORBIDDEN"):
            raise
        field = "number" if exc.field in ("number", "cert_no", None) else exc.field
        return page.render("search.html", status=400, cert_types=_cert_choices(page), values=values, results=None, error=exc, error_field=field, more=False)
    shown = {k: v for k, v in values.items() if k != "number"}  # the whole number is not echoed once found
    return page.render("search.html", cert_types=_cert_choices(page), values=shown, results=results, error=None, more=more)


# ------------------------------------------------------------------------------------------ person


def _day_param(page: Page, value: str | None, default: date, field: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise YibaoError("BAD_DATE", field=field, value=value) from None


def _timeline_block(page: Page, psn_no: str, on: date, known: date) -> dict[str, Any]:
    svc = page.ctx.service
    facts = svc.facts(psn_no, as_known_on=known)
    t = svc.timeline(psn_no, as_known_on=known)
    answer = answer_coverage(t, on)
    picture = draw(facts, t, on=on, as_known_on=known, today=svc.today(), _=page._, label=_label_for(page.lang))
    return {"picture": picture, "answer": answer, "on": on, "known": known, "psn_no": psn_no, "timeline": t}


@router.get("/persons/{psn_no}")
def person_page(request: Request, psn_no: str, on: str | None = None, known: str | None = None) -> Response:
    page = _page(request)
    assert page.principal is not None
    scope = visible_person(page.ctx, page.principal, psn_no)
    svc = page.ctx.service
    today = svc.today()
    on_day, known_day = _day_param(page, on, today, "on"), _day_param(page, known, today, "known")
    facts = svc.facts(psn_no)
    shown = present.person(facts, scope.regions, today, full=present.sees_full_numbers(page.principal))
    lines = sorted(facts.contributions, key=present.line_order, reverse=True)
    return page.render(
        "person.html", person=shown, facts=facts, scope=scope, lines=lines, tl=_timeline_block(page, psn_no, on_day, known_day),
        actions=[a for a in ACTIONS.values()], serves=page.principal.serves,
        transfers=svc.transfers(psn_no), refunds=svc.refunds(psn_no), places=svc.places(psn_no),
    )


@router.get("/persons/{psn_no}/timeline")
def timeline_part(request: Request, psn_no: str, on: str | None = None, known: str | None = None) -> Response:
    page = _page(request)
    assert page.principal is not None
    visible_person(page.ctx, page.principal, psn_no)
    if not _is_htmx(request):
        query = "&".join(f"{k}={urlquote(v)}" for k, v in (("on", on), ("known", known)) if v)
        return RedirectResponse(f"/persons/{urlquote(psn_no)}" + (f"?{query}" if query else ""), status_code=303)
    today = page.ctx.service.today()
    try:
        on_day, known_day = _day_param(page, on, today, "on"), _day_param(page, known, today, "known")
    except YibaoError as exc:
        return page.render("_timeline.html", tl=_timeline_block(page, psn_no, today, today), tl_error=exc)
    return page.render("_timeline.html", tl=_timeline_block(page, psn_no, on_day, known_day), tl_error=None)


# ------------------------------------------------------------------------------------------ actions


def _action_env(page: Page, psn_no: str, name: str) -> tuple[Action, Env]:
    action = ACTIONS.get(name)
    if action is None:
        raise YibaoError(PAGE_NOT_FOUND)
    assert page.principal is not None
    if page.principal.role not in WRITERS:
        raise YibaoError(ROLE_FORBIDDEN, role=page.principal.role, needed=f"{CLERK} / {ADMINISTRATOR}")
    scope = visible_person(page.ctx, page.principal, psn_no)
    svc = page.ctx.service
    return action, Env(svc, page.principal, scope, svc.facts(psn_no), svc.today(), _label_for(page.lang))


def _render_form(page: Page, action: Action, env: Env, values: dict[str, str], errors: dict[str | None, YibaoError], status: int = 200) -> Response:
    choices = {f.name: f.choices(env) for f in action.fields if f.choices is not None}
    return page.render("action.html", action=action, person=env.facts, values=values, errors=errors, choices=choices, step="edit", status=status)


@router.get("/persons/{psn_no}/actions/{name}")
def action_form(request: Request, psn_no: str, name: str) -> Response:
    page = _page(request)
    action, env = _action_env(page, psn_no, name)
    return _render_form(page, action, env, action.defaults(env), {})


@router.post("/persons/{psn_no}/actions/{name}")
async def action_post(request: Request, psn_no: str, name: str) -> Response:
    page, _principal, values = await _posted(request)
    action, env = await run_in_threadpool(_action_env, page, psn_no, name)
    step = values.get("step", "review")
    kept = {k: v for k, v in values.items() if k not in ("csrf", "step")}
    if step == "edit":
        return _render_form(page, action, env, kept, {})
    try:
        parsed = await run_in_threadpool(action.parse, env, kept)
        if step != "confirm":
            effect = await run_in_threadpool(action.effect, env, parsed)
            choices = {f.name: f.choices(env) for f in action.fields if f.choices is not None}
            return page.render("action.html", action=action, person=env.facts, values=kept, errors={}, choices=choices, step="review", effect=effect)
        message, notices, message_values = await run_in_threadpool(action.save, env, parsed, kept)
    except FormErrors as exc:
        return _render_form(page, action, env, kept, exc.errors, status=max(status_for(e.code) for e in exc.errors.values()))
    except YibaoError as exc:
        if exc.code in ("REGION_FORBIDDEN", "ROLE_FORBIDDEN") and exc.field not in {f.name for f in action.fields}:
            raise
        return _render_form(page, action, env, kept, {form_field(action, exc): exc}, status=status_for(exc.code))
    response = _redirect(request, f"/persons/{urlquote(psn_no)}")
    _set_flash(response, message, message_values, notices)
    return response


# ------------------------------------------------------------------------------------------ policy


def _value_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value_text(v)}" for k, v in value.items())
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


@router.get("/policy")
def policy_page(request: Request, region: str | None = None, on: str | None = None) -> Response:
    page = _page(request)
    policy = page.ctx.service.policy
    regions = policy.regions()
    region = region if region in regions else regions[0]
    day = _day_param(page, on, page.ctx.service.today(), "on")
    items = []
    for rv in policy.in_force(region, day):
        definition = policy.catalog.get(rv.key)
        history = [(h.effective_from, _value_text(h.value), h.defined_in) for h in policy.history(region, rv.key)]
        items.append({
            "key": rv.key,
            "description": (definition.description_en if page.lang == "en" else definition.description_zh) if definition else "",
            "unit": definition.unit if definition else None,
            "value": _value_text(rv.value),
            "effective_from": rv.effective_from,
            "defined_in": rv.defined_in,
            "citation": rv.citation,
            "illustrative": rv.illustrative,
            "note": rv.note,
            "history": history,
        })
    return page.render("policy.html", regions=[(r, page.region_name(r)) for r in regions], region=region, on=day, items=items)


# ------------------------------------------------------------------------------------------ dashboard


def _dashboard_region(page: Page, region: str | None) -> tuple[str, list[str]]:
    assert page.principal is not None
    policy = page.ctx.service.policy
    mine = [r for r in policy.regions() if page.principal.serves(r)]
    if region is None:
        region = mine[0]
    if region not in mine:
        check_region(page.principal, region if region in policy.regions() else "—", field="region")
    return region, mine


def _scheme_status(page: Page, counts: dict[tuple[str, str], int]) -> list[tuple[str, int]]:
    label = _label_for(page.lang)
    return [(f"{label('insutype', k[0])} · {label('insu_status', k[1])}", v) for k, v in sorted(counts.items())]


@router.get("/dashboard")
def dashboard(request: Request, region: str | None = None) -> Response:
    page = _page(request)
    region, mine = _dashboard_region(page, region)
    counts = queries.region_counts(page.ctx.service, region)
    _ = page._
    charts = [
        bars(_scheme_status(page, counts.people_by), title=_("参保人数（按险种与参保状态）")),
        bars(_scheme_status(page, counts.relations_by), title=_("参保关系数（按险种与参保状态）")),
    ]
    open_duplicates = count_cases(DuplicatesService(page.ctx.service), page.principal, state="OPEN", region=region)  # 重复参保核查
    return page.render("dashboard.html", regions=[(r, page.region_name(r)) for r in mine], region=region, counts=counts, charts=charts,
                       horizon=queries.LOSS_HORIZON_DAYS, open_duplicates=open_duplicates)


@router.get("/dashboard/attention")
def dashboard_attention(request: Request, region: str | None = None) -> Response:
    """The timeline-based part of the dashboard: loaded by htmx after the page (it may take seconds the first time)."""
    page = _page(request)
    region, _mine = _dashboard_region(page, region)
    if not _is_htmx(request):
        return RedirectResponse(f"/dashboard?region={urlquote(region)}", status_code=303)
    found = queries.attention(page.ctx.service, region)
    _ = page._
    chart = bars([(_("欠费（可补缴）"), len(found.arrears)), (_("{days} 天内将失去待遇", days=queries.LOSS_HORIZON_DAYS), len(found.losing)),
                  (_("重复享受待遇"), len(found.duplicates))], title=_("需要关注的参保人"), colour="#c62828")
    return page.render("_attention.html", found=found, chart=chart, horizon=queries.LOSS_HORIZON_DAYS)


__all__ = ["ConsoleRoute", "router"]
