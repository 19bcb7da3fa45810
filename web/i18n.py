"""The dashboard's words, Vietnamese first, English on the switch (the `lang` cookie).

Pages use `t(key)`; the scripts get the same table (`strings(lang)`), so one place holds every
word a screen shows. A key missing in English falls back to Vietnamese, and a missing key shows
itself, so a forgotten word is visible rather than blank.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("vi", "en")
DEFAULT = "vi"

VI: dict[str, str] = {
    "app": "chotdon", "live": "Phiên live", "orders": "Đơn hàng", "customers": "Khách hàng",
    "chats": "Đơn chat", "stats": "Thống kê", "messages": "Tin nhắn", "logout": "Đăng xuất",
    "login": "Đăng nhập", "shop_id": "Mã cửa hàng", "staff_id": "Tên đăng nhập",
    "password": "Mật khẩu", "login_title": "Đăng nhập để chốt đơn",
    "board": "Bảng chốt đơn", "seq": "STT", "customer": "Khách", "phone": "SĐT",
    "lines": "Hàng", "total": "Tổng", "status": "Trạng thái", "staff": "NV",
    "open": "Đang mở", "cancelled": "Đã hủy", "finalised": "Đã chốt", "all": "Tất cả",
    "attention": "Cần xử lý", "search": "Tìm tên, SĐT, STT…", "drafts": "đơn",
    "unknown_code": "mã lạ", "needs_variant": "thiếu phân loại", "waitlist": "chờ",
    "held": "giữ", "live_on": "Trực tiếp", "live_off": "Mất kết nối, đang nối lại…",
    "stopped": "Đã dừng", "running": "Đang live", "start": "Bắt đầu live", "stop": "Dừng live",
    "name": "Tên", "address": "Địa chỉ", "ward": "Phường/xã", "province": "Tỉnh/thành",
    "note": "Ghi chú", "save_customer": "Lưu thông tin khách", "line": "Dòng",
    "code": "Mã", "qty": "SL", "price": "Giá", "remove": "Xóa", "repick": "Chọn lại hàng",
    "choose_variant": "Chọn phân loại", "add_line": "Thêm hàng", "add_custom": "Hàng ngoài",
    "assign": "Giao cho", "finalise": "Chốt đơn", "create": "Lên đơn",
    "deliver_now": "Giao ngay", "send_to_store": "Chuyển cửa hàng", "save": "Lưu nháp",
    "cancel": "Hủy đơn", "close": "Đóng", "changed": "Đơn vừa thay đổi: xem lại rồi làm lại",
    "applied": "Đã cập nhật", "refused": "Không thực hiện được", "bulk_status": "Chuyển sang",
    "merge": "Gộp đơn", "print_slips": "In phiếu", "print_labels": "In nhãn",
    "selected": "đã chọn", "history": "Lịch sử", "returned": "Bom hàng",
    "blacklisted": "Danh sách đen", "blacklist": "Đưa vào danh sách đen",
    "unblacklist": "Bỏ khỏi danh sách đen", "reason": "Lý do", "owner": "Phụ trách",
    "new_sale": "Bán mới", "upsell": "Bán thêm", "conversation": "Cuộc trò chuyện",
    "platform": "Nền tảng", "start_chat": "Bắt đầu đơn chat", "resume": "Tiếp tục",
    "discard": "Bỏ đơn", "unfinished": "Đơn chat chưa xong của bạn",
    "previous_orders": "Đơn trước của khách", "revenue": "Doanh thu", "sales": "Doanh số",
    "by_status": "Theo trạng thái", "by_livestream": "Theo phiên live",
    "by_staff": "Theo nhân viên", "by_day": "Theo ngày", "count": "Số đơn",
    "shortcuts": "Phím tắt", "shortcut_help": "j/k: lên xuống · Enter: mở đơn · Esc: đóng · "
    "/: tìm · a: cần xử lý · n: đơn cần xử lý tiếp theo · Ctrl+Enter: lên đơn · ?: trợ giúp",
    "none": "Không có", "loading": "Đang tải…", "products": "Sản phẩm", "stock": "Tồn",
    "waiting": "Đang chờ", "no_drafts": "Chưa có đơn nào", "packing_slip": "Phiếu xuất kho",
    "shipping_label": "Nhãn giao hàng", "order": "Đơn", "receiver": "Người nhận",
    "sender": "Người gửi", "amount": "Thành tiền", "cod": "Thu hộ (COD)",
    "printed_at": "In lúc", "download_pdf": "Tải PDF", "print": "In",
    "more": "Xem thêm", "sent": "Đã gửi", "not_sent": "Không gửi", "delivery": "Nền tảng",
    "delivery_pending": "Chờ gửi", "delivered": "Khách đã nhận", "delivery_sending": "Đang gửi",
    "delivery_retry": "Gửi lại sau", "delivery_failed": "Không tới được", "template": "Mẫu",
    "channel": "Kênh", "at": "Lúc", "text": "Nội dung", "view": "Xem",
    "language": "English", "docs": "API", "role": "Vai trò", "warnings": "Cảnh báo",
    "next_page": "Trang sau", "add": "Thêm", "attributes": "Phân loại", "to_status": "Chuyển",
    "no_permission": "Vai trò của bạn không được xem mục này",
    "chart_legend": "Thanh đậm: doanh thu (trạng thái tính doanh thu) · thanh nhạt: doanh số "
    "(mọi đơn) · số: doanh thu / doanh số",
}  # fmt: skip

EN: dict[str, str] = {
    "live": "Livestreams", "orders": "Orders", "customers": "Customers", "chats": "Chat orders",
    "stats": "Stats", "messages": "Messages", "logout": "Log out", "login": "Log in",
    "shop_id": "Shop id", "staff_id": "Staff id", "password": "Password",
    "login_title": "Log in to close orders", "board": "Order board", "seq": "No.",
    "customer": "Customer", "phone": "Phone", "lines": "Items", "total": "Total",
    "status": "Status", "staff": "Staff", "open": "Open", "cancelled": "Cancelled",
    "finalised": "Finalised", "all": "All", "attention": "Needs attention",
    "search": "Search name, phone, number…", "drafts": "drafts", "unknown_code": "unknown code",
    "needs_variant": "needs variant", "waitlist": "waiting", "held": "held",
    "live_on": "Live", "live_off": "Disconnected, reconnecting…", "stopped": "Stopped",
    "running": "Live", "start": "Start livestream", "stop": "Stop livestream", "name": "Name",
    "address": "Address", "ward": "Ward", "province": "Province", "note": "Note",
    "save_customer": "Save customer", "line": "Line", "code": "Code", "qty": "Qty",
    "price": "Price", "remove": "Remove", "repick": "Re-pick product",
    "choose_variant": "Choose variant", "add_line": "Add product", "add_custom": "Ad-hoc item",
    "assign": "Assign to", "finalise": "Finalise", "create": "Create order",
    "deliver_now": "Deliver now", "send_to_store": "Send to store", "save": "Save draft",
    "cancel": "Cancel draft", "close": "Close",
    "changed": "The draft changed meanwhile: check it and try again", "applied": "Updated",
    "refused": "Refused", "bulk_status": "Move to", "merge": "Merge orders",
    "print_slips": "Print slips", "print_labels": "Print labels", "selected": "selected",
    "history": "History", "returned": "Returned orders", "blacklisted": "Blacklisted",
    "blacklist": "Blacklist", "unblacklist": "Remove from blacklist", "reason": "Reason",
    "owner": "Owner", "new_sale": "New sale", "upsell": "Upsell",
    "conversation": "Conversation", "platform": "Platform", "start_chat": "Start a chat order",
    "resume": "Continue", "discard": "Discard", "unfinished": "Your unfinished chat orders",
    "previous_orders": "The customer's previous orders", "revenue": "Revenue",
    "sales": "Sales", "by_status": "By status", "by_livestream": "By livestream",
    "by_staff": "By staff", "by_day": "By day", "count": "Orders", "shortcuts": "Shortcuts",
    "shortcut_help": "j/k: move · Enter: open · Esc: close · /: search · a: needs attention · "
    "n: next needing attention · Ctrl+Enter: create order · ?: help",
    "none": "None", "loading": "Loading…", "products": "Products", "stock": "Stock",
    "waiting": "Waiting", "no_drafts": "No drafts yet", "packing_slip": "Packing slip",
    "shipping_label": "Shipping label", "order": "Order", "receiver": "Receiver",
    "sender": "Sender", "amount": "Amount", "cod": "Cash on delivery",
    "printed_at": "Printed", "download_pdf": "Download PDF", "print": "Print",
    "more": "More", "sent": "Sent", "not_sent": "Not sent", "delivery": "Platform",
    "delivery_pending": "Pending", "delivered": "Delivered", "delivery_sending": "Sending",
    "delivery_retry": "Retrying", "delivery_failed": "Not delivered", "template": "Template",
    "channel": "Channel", "at": "At", "text": "Text", "view": "View", "language": "Tiếng Việt",
    "docs": "API", "role": "Role", "warnings": "Warnings", "next_page": "Next page",
    "add": "Add", "attributes": "Variant", "to_status": "Move",
    "no_permission": "Your role may not see this",
    "chart_legend": "Dark bar: revenue (statuses that count as revenue) · light bar: sales (every "
    "order) · figures: revenue / sales",
}  # fmt: skip


def language(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT


def strings(lang: str) -> dict[str, str]:
    return {**VI, **EN} if lang == "en" else dict(VI)


def translator(lang: str) -> Callable[[str], str]:
    table = strings(lang)
    return lambda key: table.get(key, key)
