"""Why a command is refused: stable codes with Vietnamese and English messages.

A refusal lists every reason at once. Programs match on `code` (never on the text); people read
`vi` or `en`. Messages are templates filled from keyword arguments (`{line}`, `{status}`...).
"""

from __future__ import annotations

from orders.commands import Reason

# code -> (Vietnamese, English)
CATALOGUE: dict[str, tuple[str, str]] = {
    # addressing
    "livestream_not_found": ("Không tìm thấy phiên live {livestream}",
                             "No livestream {livestream}"),
    "draft_not_found": ("Không có đơn số {seq}", "No draft number {seq}"),
    "draft_not_open": ("Đơn đang ở trạng thái {status}, không sửa được nữa",
                       "The draft is {status} and can no longer change"),
    "line_not_found": ("Đơn không có dòng hàng số {line}", "The draft has no line {line}"),
    "draft_changed": ("Đơn vừa được thay đổi (bởi người khác hoặc bình luận mới): "
                      "xem lại rồi làm lại",
                      "The draft changed meanwhile (another person or a new comment): check it "
                      "and try again"),
    "order_not_found": ("Không có đơn hàng {order_id}", "No order {order_id}"),
    "chat_not_found": ("Cuộc trò chuyện {conversation} chưa có đơn đang lên",
                       "Conversation {conversation} has no order in progress"),
    "chat_in_progress": ("Cuộc trò chuyện {conversation} đang có đơn chưa xong",
                         "Conversation {conversation} already has an order in progress"),
    "store_error": ("Hệ thống không áp dụng được lệnh này ({error})",
                    "The store could not apply this command ({error})"),
    "unknown_template": ("Cửa hàng không có mẫu tin nhắn {template}",
                         "The shop has no message template {template}"),
    "shop_unknown": ("Không rõ đơn {order_id} của cửa hàng nào: ghi rõ cửa hàng (--shop-id)",
                     "Order {order_id} names no livestream: give its shop (--shop-id)"),
    "shop_not_configured": ("Cửa hàng {shop} chưa được thiết lập (chạy chotdon live start)",
                            "Shop {shop} is not set up (run chotdon live start)"),
    "unknown_staff": ("Không có nhân viên {staff} trong cửa hàng", "The shop has no staff {staff}"),
    # fixing lines
    "not_unknown_code_line": ("Dòng {line} không phải mã lạ, không chọn lại hàng được",
                              "Line {line} is not an unknown code; its product is not re-picked"),
    "not_needs_variant_line": ("Dòng {line} không cần chọn phân loại",
                               "Line {line} has no variant to choose"),
    "custom_line": ("Dòng {line} là hàng ngoài danh mục", "Line {line} is an ad-hoc product"),
    "unknown_product": ("Không có mã hàng {code} trong nhóm hàng",
                        "No product {code} in the group"),
    "unknown_attribute": ("Hàng {code} không có thuộc tính {attribute}",
                          "Product {code} has no attribute {attribute}"),
    "unknown_attribute_value": ("Hàng {code} không có {attribute} = {value}",
                                "Product {code} has no {attribute} {value}"),
    # customer details
    "invalid_phone": ("Số điện thoại {phone} không phải số di động Việt Nam",
                      "{phone} is not a Vietnamese mobile number"),
    "unknown_province": ("Không tìm thấy tỉnh/thành {province}", "No province named {province}"),
    # finalising
    "missing_name": ("Thiếu tên khách hàng", "The customer's name is missing"),
    "missing_phone": ("Thiếu số điện thoại", "The phone number is missing"),
    "missing_address": ("Thiếu địa chỉ giao hàng", "The delivery address is missing"),
    "missing_province": ("Thiếu tỉnh/thành của địa chỉ", "The address has no province"),
    "unresolved_unknown_code": ("Dòng {line}: mã {code} chưa có trong nhóm hàng, hãy chọn lại hàng",
                                "Line {line}: code {code} is not in the group; pick the product"),
    "unresolved_variant": ("Dòng {line}: hàng {code} chưa chọn {attributes}",
                           "Line {line}: product {code} needs {attributes}"),
    "waitlisted_line": ("Dòng {line}: hàng {code} mới giữ được {reserved}/{qty}, còn chờ hàng",
                        "Line {line}: only {reserved} of {qty} units of {code} are held; the rest "
                        "wait for stock"),
    "no_lines": ("Đơn chưa có hàng", "The draft has no lines"),
    "zero_total": ("Đơn có giá trị 0đ, không tạo được", "An order worth 0 đồng cannot be created"),
    # orders
    "illegal_transition": ("Đơn {order_id} đang {status_name}, không chuyển sang {to_name} được",
                           "Order {order_id} is {status_name} and cannot move to {to_name}"),
    "unknown_status": ("Cửa hàng không có trạng thái {status}", "The shop has no status {status}"),
    "already_merged": ("Đơn {order_id} đã được gộp vào {merged_into}",
                       "Order {order_id} was already merged into {merged_into}"),
    "different_customers": ("Các đơn không cùng một khách hàng",
                            "The orders are not one customer's"),
    "different_statuses": ("Các đơn không cùng trạng thái", "The orders are not in one status"),
    "duplicate_order_id": ("Đơn {order_id} được nêu hai lần", "Order {order_id} is named twice"),
    "customer_not_found": ("Không tìm thấy khách hàng", "No such customer"),
    "merge_needs_two": ("Cần ít nhất hai đơn khác nhau để gộp",
                        "Merging needs at least two different orders"),
    "closed_status": ("Đơn ở trạng thái {status_name} đã kết thúc, không gộp được",
                      "Orders in {status_name} are closed and cannot be merged"),
    # automation and customer messages
    "unknown_group": ("Cửa hàng không có nhóm nhân viên {group}",
                      "The shop has no staff group {group}"),
    "empty_group": ("Nhóm nhân viên {group} chưa có ai", "Staff group {group} has no members"),
    "message_not_allowed": ("Không gửi được tin nhắn cho khách: {reason}",
                            "The message may not be sent to the customer: {reason}"),
}  # fmt: skip


def reason(code: str, field: str | None = None, /, **params: object) -> Reason:
    """The Reason for `code`; a code missing from the catalogue is a programming error."""
    vi, en = CATALOGUE[code]
    return Reason(code=code, field=field, vi=vi.format(**params), en=en.format(**params))
