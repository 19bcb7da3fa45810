"""Errors of the HTTP API: one JSON shape for every refusal, whoever refused.

    {"error": "<code of the first reason>", "reasons": [{"code", "field", "vi", "en"}, ...],
     ...what else helps: the command's outcome, the draft as it is now}

A command the worker refused answers its own reasons (orders/reasons.py); the API's own
refusals (who is calling, what may they do, a malformed request) use the codes below, in the
same shape, so a client handles one format and people read Vietnamese or English.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from orders.commands import Reason
from web.responses import JsonResponse

# code -> (Vietnamese, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "not_authenticated": ("Chưa đăng nhập", "Log in first"),
    "session_expired": ("Phiên đăng nhập đã hết hạn, hãy đăng nhập lại",
                        "The session has expired: log in again"),
    "csrf_missing": ("Thiếu mã chống giả mạo (CSRF): tải lại trang",
                     "The CSRF token is missing or wrong: reload the page"),
    "forbidden_role": ("Vai trò {role} không được phép: {action}",
                       "The {role} role may not: {action}"),
    "login_failed": ("Sai cửa hàng, tên đăng nhập hoặc mật khẩu",
                     "Wrong shop, staff id or password"),
    "login_blocked": ("Sai quá nhiều lần: thử lại sau {seconds} giây",
                      "Too many failed logins: try again in {seconds} s"),
    "not_found": ("Không tìm thấy {what}", "No such {what}"),
    "invalid": ("Giá trị không hợp lệ: {message}", "Invalid value: {message}"),
    "version_mismatch": ("If-Match và expect_version khác nhau",
                         "If-Match and expect_version disagree"),
    "no_outcome": ("Chưa có kết quả sau {seconds} giây: lệnh vẫn chờ trong hàng, gửi lại cùng "
                   "command_id để biết kết quả",
                   "No outcome within {seconds} s: the command waits in Kafka; send it again "
                   "with the same command_id to learn its outcome"),
    "not_a_livestream_order": ("Đơn {order_id} không thuộc phiên live nào",
                               "Order {order_id} belongs to no livestream"),
}  # fmt: skip


def web_reason(code: str, field: str | None = None, **params: Any) -> Reason:
    vi, en = MESSAGES[code]
    return Reason(code=code, field=field, vi=vi.format(**params), en=en.format(**params))


class ApiError(Exception):
    """Answered as the JSON shape above, with `status`."""

    def __init__(
        self, status: int, reasons: list[Reason], headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:  # fmt: skip
        super().__init__(reasons[0].en if reasons else str(status))
        self.status = status
        self.reasons = reasons
        self.headers = headers
        self.extra = extra

    @classmethod
    def of(
        cls, status: int, code: str, field: str | None = None,
        headers: dict[str, str] | None = None, **params: Any,
    ) -> ApiError:  # fmt: skip
        return cls(status, [web_reason(code, field, **params)], headers)


def error_body(reasons: list[Reason], **extra: Any) -> dict[str, Any]:
    return {
        "error": reasons[0].code if reasons else "error",
        "reasons": [r.model_dump() for r in reasons],
        **extra,
    }


def validation_reasons(error: ValidationError | RequestValidationError) -> list[Reason]:
    """Every faulty field of a request, each a reason with its field."""
    reasons = []
    for item in error.errors():
        location = [str(part) for part in item["loc"] if part not in ("body", "query", "path")]
        field = ".".join(location) or None
        reasons.append(web_reason("invalid", field, message=item["msg"]))
    return reasons


async def api_error_handler(_request: Request, error: Exception) -> JsonResponse:
    assert isinstance(error, ApiError)
    return JsonResponse(
        error_body(error.reasons, **error.extra), status_code=error.status, headers=error.headers
    )


async def validation_error_handler(_request: Request, error: Exception) -> JsonResponse:
    assert isinstance(error, RequestValidationError | ValidationError)
    return JsonResponse(error_body(validation_reasons(error)), status_code=422)
