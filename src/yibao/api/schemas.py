"""Request and response bodies (pydantic). Unknown fields are refused; strings are bounded and free
of control characters; dates lie in 1900–2099; money is exact (at most two decimals, no NaN)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from yibao.codes import ContributionKind, FundLine
from yibao.model import PayerType, StatusReason

MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2099, 12, 31)


def no_control(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("control characters are not allowed / 不允许控制字符")
    return value


def _day_in_range(value: date) -> date:
    if not (MIN_DAY <= value <= MAX_DAY):
        raise ValueError("date must be between 1900-01-01 and 2099-12-31 / 日期须在 1900-01-01 至 2099-12-31 之间")
    return value


def Text(max_length: int, min_length: int = 0, pattern: str | None = None) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern), AfterValidator(no_control)]


Day = Annotated[date, AfterValidator(_day_in_range)]
Region = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
RegionOrAll = Annotated[str, StringConstraints(pattern=r"^(\d{6}|\*)$")]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2, allow_inf_nan=False)]
NonNegativeMoney = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
Role = Literal["clerk", "auditor", "administrator"]
PsnNo = Text(40, 1)
RelationId = Text(40, 1, r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# ':' separates the parts of the line keys the service derives from a payment key
PaymentKey = Text(64, 1, r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
LineKey = Text(128, 1, r"^[!-~]+$")


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int = Field(description="页码（从 1 开始）/ page number, from 1")
    page_size: int
    total: int = Field(description="总条数 / number of items on all pages")


class NoticeOut(BaseModel):
    code: str
    field: str | None = None
    message_zh: str
    message_en: str


class CitationOut(BaseModel):
    document: str
    article: str | None = None
    confidence: str
    source: str | None = None


class ReasonOut(BaseModel):
    """规则依据：规则编号、中英文说明、使用的政策参数及出处 / a rule's reason with its parameters and citations."""

    rule_id: str
    message_zh: str
    message_en: str
    parameters: list[dict[str, Any]] = []
    citations: list[CitationOut] = []
    facts: dict[str, Any] = {}


class DecisionOut(BaseModel):
    """规则结论：结果值 + 依据 + 提示 / a decision: value, reasons, notices (``Decision.to_dict``)."""

    value: Any
    reasons: list[ReasonOut]
    notices: list[NoticeOut]


# ---------------------------------------------------------------------------------------- auth


class LoginIn(In):
    username: Text(64, 1)  # type: ignore[valid-type]
    password: Text(1024, 1)  # type: ignore[valid-type]


class LoginOut(BaseModel):
    access_token: str = Field(description="会话令牌，仅此一次显示 / the session token, shown once")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    username: str
    role: Role
    regions: list[str] = Field(description="服务的统筹区；[\"*\"] 表示全部 / regions served; [\"*\"] means all")


class PasswordIn(In):
    current_password: Text(1024, 1)  # type: ignore[valid-type]
    new_password: Text(256, 8)  # type: ignore[valid-type]


class PasswordChanged(BaseModel):
    revoked_sessions: int = Field(description="撤销的其他会话数 / other sessions revoked")


class MeOut(BaseModel):
    name: str
    kind: Literal["user", "system"]
    role: Role
    regions: list[str]


class UserIn(In):
    username: Text(64, 3, r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")  # type: ignore[valid-type]
    password: Text(256, 8)  # type: ignore[valid-type]
    role: Role
    regions: list[RegionOrAll] = Field(default=[], max_length=50, description="经办员/审计员服务的统筹区；审计员可用 [\"*\"] / regions served")


class UserPatch(In):
    password: Text(256, 8) | None = None  # type: ignore[valid-type]
    role: Role | None = None
    regions: list[RegionOrAll] | None = Field(default=None, max_length=50)
    active: bool | None = None


class UserOut(BaseModel):
    username: str
    role: Role
    regions: list[str]
    active: bool
    created_at: datetime
    created_by: str
    updated_at: datetime | None = None


class TokenIn(In):
    name: Text(100, 1)  # type: ignore[valid-type]
    role: Role
    regions: list[RegionOrAll] = Field(default=[], max_length=50)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="有效天数；不填则不过期 / days until it expires; none: never")


class TokenCreated(BaseModel):
    id: int
    token: str = Field(description="令牌明文，仅此一次显示 / the secret, shown once")
    name: str
    role: Role
    regions: list[str]
    expires_at: datetime | None


class TokenOut(BaseModel):
    id: int
    kind: Literal["session", "system"]
    name: str
    username: str | None = None
    role: Role | None = None
    regions: list[str] | None = None
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


# ---------------------------------------------------------------------------------------- persons


class DocumentIn(In):
    cert_type: Text(6, 1) = Field(description="证件类型代码，如 01 居民身份证 / document type code, e.g. 01")  # type: ignore[valid-type]
    number: Text(64, 1) = Field(description="证件号码 / document number")  # type: ignore[valid-type]
    nationality: Text(3, 2) | None = Field(default=None, description="国籍（外国人护照必填，ISO 3166 三位字母）/ nationality")  # type: ignore[valid-type]


class RegisterIn(In):
    documents: list[DocumentIn] = Field(min_length=1, max_length=5)
    name: Text(200) = ""  # type: ignore[valid-type]
    birth_date: Day | None = None
    sex: Literal["M", "F"] | None = None
    region: Region | None = Field(
        default=None,
        description="登记统筹区：参保人尚无参保关系时归属于此统筹区；只服务一个统筹区的经办员可不填 / the region the person belongs to until enrolled",
    )


class RegisteredOut(BaseModel):
    psn_no: str
    region: str
    notices: list[NoticeOut]


class DocumentOut(BaseModel):
    cert_type: str
    number: str = Field(description="证件号码（列表及非管理员视图中脱敏）/ masked except for administrators")
    nationality: str | None = None
    valid_from: date | None = None


class StatusChangeOut(BaseModel):
    effective: date
    status: str
    reason: str
    note: str


class RelationOut(BaseModel):
    relation_id: str
    insutype: str
    region: str
    psn_type: str
    start: date
    end: date | None
    employer: str | None
    status: str = Field(description="今日参保状态（1 正常 2 暂停 4 终止 0 未参保）/ status today")
    status_changes: list[StatusChangeOut]


class PlaceIn(In):
    """人员地点 (issue 4): where the person works, lives or studies from ``valid_from`` on (R-DUP-002/003/004)."""

    kind: Literal["EMPLOYMENT", "HABITUAL_RESIDENCE", "STUDY"] = Field(description="就业地 / 常住地 / 学籍地")
    region: Text(6, 1) = Field(description="6位行政区划代码（任意有效代码）/ 6-digit division code (any valid one)")  # type: ignore[valid-type]
    valid_from: Day = Field(description="自该日起 / from this day on (not in the future)")
    student_cause: Literal["SCHOOL_ENTRY", "JOB"] | None = Field(
        default=None, description="仅学籍地：重复参保原因（入学 / 就业，R-DUP-004）/ place of study only: the cause of the duplicate",
    )
    note: Text(500) | None = Field(default=None, description="依据（居住证、劳动合同、学籍证明…）/ evidence")  # type: ignore[valid-type]


class PlaceWithdrawIn(In):
    """撤销误登记的地点 / withdraw a place recorded in error."""

    reason: Text(500, 1) = Field(description="撤销理由 / why")  # type: ignore[valid-type]


class PlaceOut(BaseModel):
    place_id: int
    kind: str
    region: str
    valid_from: date
    student_cause: str | None = None
    note: str | None = None
    recorded_at: datetime
    recorded_by: str


class PersonOut(BaseModel):
    psn_no: str
    name: str
    birth_date: date | None
    sex: str | None
    death_date: date | None
    regions: list[str]
    documents: list[DocumentOut]
    relations: list[RelationOut]
    places: list[PlaceOut] = Field(default=[], description="登记的就业地、常住地、学籍地（当前有效记录）/ recorded places (current rows)")


class PersonSummary(BaseModel):
    psn_no: str
    name: str
    birth_date: date | None
    sex: str | None
    regions: list[str]
    documents: list[DocumentOut]


class SearchIn(DocumentIn):
    pass


class MergeIn(In):
    absorb: PsnNo = Field(description="被合并（注销）的人员编号 / the person merged into this one")  # type: ignore[valid-type]
    reason: Text(500, 1)  # type: ignore[valid-type]


class DeathIn(In):
    death_date: Day


class OkOut(BaseModel):
    psn_no: str
    ok: bool = True


# ---------------------------------------------------------------------------------------- relations


class EnrollIn(In):
    insutype: Text(3, 1) = Field(description="险种 310 职工 / 390 居民 …")  # type: ignore[valid-type]
    region: Region = Field(description="统筹区 / pooling region")
    psn_type: Text(4, 1) = Field(description="人员类别 / person category, e.g. 1101")  # type: ignore[valid-type]
    start: Day
    employer: Text(18, 1) | None = Field(default=None, description="单位统一社会信用代码 / employer USCC")  # type: ignore[valid-type]
    monthly_wage: NonNegativeMoney | None = None
    relation_id: RelationId | None = None  # type: ignore[valid-type]


class EnrolledOut(BaseModel):
    psn_no: str
    relation_id: str
    notices: list[NoticeOut]


class SuspendIn(In):
    effective: Day
    reason: StatusReason
    note: Text(500) = ""  # type: ignore[valid-type]


class RestoreIn(In):
    effective: Day
    note: Text(500) = ""  # type: ignore[valid-type]


class StatusOut(BaseModel):
    psn_no: str
    relation_id: str
    status: str
    effective: date


# ---------------------------------------------------------------------------------------- money


class LineIn(In):
    relation_id: Text(64, 1)  # type: ignore[valid-type]
    kind: ContributionKind = ContributionKind.REGULAR
    payer: PayerType
    paid_on: Day
    amount: Money
    month: Text(7, 7, r"^\d{4}-(0[1-9]|1[0-2])$") | None = Field(default=None, description="费款所属期 YYYY-MM")  # type: ignore[valid-type]
    benefit_year: int | None = Field(default=None, ge=1990, le=2099, description="居民医保待遇年度 / resident benefit year")
    fund: FundLine | None = None
    base: NonNegativeMoney | None = None
    months_credited: int = Field(default=0, ge=0, le=600)
    key: LineKey | None = Field(default=None, description="幂等键：同一键重复提交只记一次 / idempotency key")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _one_period(self) -> LineIn:
        if self.month is not None and self.benefit_year is not None:
            raise ValueError("a line has a month or a benefit year, not both / 费款所属期与待遇年度只能填一个")
        return self


class LinesIn(In):
    lines: list[LineIn] = Field(min_length=1, max_length=500)


class PostedOut(BaseModel):
    psn_no: str
    keys: list[str]
    new: int = Field(description="本次新记录的明细条数（重复提交为 0）/ lines recorded now (0 on a repeat)")
    quote: dict[str, Any] | None = None


class LineOut(BaseModel):
    relation_id: str
    kind: str
    payer: str
    paid_on: date
    amount: str
    month: str | None
    benefit_year: int | None
    fund: str | None
    base: str | None
    months_credited: int
    key: str | None
    recorded_on: date | None


class BackpaymentIn(In):
    pay_on: Day
    payment_key: PaymentKey = Field(description="缴费幂等键（同一键重复提交只记一次）/ idempotency key of the payment")  # type: ignore[valid-type]


class PeriodOut(BaseModel):
    relation_id: str
    insutype: str
    region: str
    start: date
    end: date | None
    start_reasons: list[ReasonOut]
    end_reasons: list[ReasonOut]


class CoverageOut(BaseModel):
    psn_no: str
    on: date
    as_known_on: date
    covered: bool
    relation_id: str | None
    insutype: str | None
    region: str | None
    period_start: date | None
    period_end: date | None
    reasons: list[ReasonOut]
    notices: list[NoticeOut]


class StartOut(BaseModel):
    relation_id: str
    first_month: str
    last_month: str
    benefit_year: int | None
    benefit_start: date | None
    reasons: list[ReasonOut]


class ActionOut(BaseModel):
    kind: str
    relation_id: str
    effective: date
    months: list[str]
    reason: ReasonOut


class MonthOut(BaseModel):
    relation_id: str
    month: str
    kind: str
    paid_on: date | None
    waiting: bool
    covered_days: int
    continuous_months: int


class TimelineOut(BaseModel):
    psn_no: str
    on: date
    as_known_on: date
    answer: CoverageOut
    periods: list[PeriodOut]
    decisions: list[StartOut]
    actions: list[ActionOut]
    notices: list[NoticeOut]
    months: list[MonthOut] | None = Field(default=None, description="月度明细（grid=true 时）/ the month grid, with grid=true")


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: str


class ErrorDetail(BaseModel):
    code: str = Field(description="稳定的错误代码 / stable error code")
    field: str | None = Field(description="出错的输入项 / the offending input")
    message_zh: str
    message_en: str


class ErrorOut(BaseModel):
    """错误 / an error: 400 输入无效, 401 未认证, 403 角色或统筹区无权, 404 不存在, 409 冲突, 500 内部错误."""

    error: ErrorDetail


_ERROR_TEXT = {
    400: "输入无效 / invalid input (REQUEST_INVALID or a validation code)",
    401: "未认证或令牌无效 / no or bad credentials",
    403: "角色或统筹区无权 / role or region not allowed",
    404: "不存在 / not found",
    409: "与已存数据冲突 / conflicts with what is stored",
    429: "尝试过于频繁 / too many attempts (LOGIN_THROTTLED)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses (each with :class:`ErrorOut`)."""
    return {s: {"model": ErrorOut, "description": _ERROR_TEXT[s]} for s in statuses}
