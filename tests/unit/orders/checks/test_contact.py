"""set_customer's fields made canonical: phones, provinces, text."""

from __future__ import annotations

import pytest

from orders.checks.contact import normalise_contact, normalise_phone


@pytest.mark.parametrize(
    "typed",
    [
        "0912345678", "+84912345678", "84912345678", "0084912345678", "+840912345678",
        "0912 345 678", "0912.345.678", "0912-345-678", "+84 912 345 678", "+84 912-345-678",
        "(+84) 912 345 678", "(091) 234 5678", " 0912345678 ", "912345678",
        "０９１２３４５６７８",  # full-width digits (a phone keyboard's)
    ],
)  # fmt: skip
def test_accepted_spellings_of_one_mobile(typed: str) -> None:
    assert normalise_phone(typed) == "0912345678"


@pytest.mark.parametrize(
    "number",
    # Viettel 086/096/097/098/032-039, Vinaphone 088/091/094/081-085, MobiFone 089/090/093/070,
    # 076-079, Vietnamobile 092/056/058, Gmobile 099/059, Itelecom 087
    ["0862345678", "0962345678", "0972345678", "0982345678", "0322345678", "0392345678",
     "0882345678", "0942345678", "0812345678", "0852345678", "0896345678", "0902345678",
     "0932345678", "0702345678", "0762345678", "0792345678", "0922345678", "0562345678",
     "0582345678", "0993456789", "0592345678", "0872345678"],
)  # fmt: skip
def test_carrier_prefixes_of_today(number: str) -> None:
    assert normalise_phone(number) == number


@pytest.mark.parametrize(
    "typed",
    [
        "", "   ", "abc", "0912345678a", "call 0912345678", "0912345678 / 0987654321",
        "091234567",  # nine digits
        "09123456789",  # eleven
        "0123456789",  # the 01x prefixes were retired in 2018
        "0198765432",
        "02438123456",  # a Hà Nội landline
        "84 24 3812 3456",
        "1900123456",  # a hotline
        "+1 650 253 0000", "(+1) 650 253 0000", "+44 7911 123456",
        "0212345678", "+", "++84912345678", "0912_345_678",
        "0892345678", "0992345678",  # ranges no carrier was given (089[6-9] and 099[013-9] were)
    ],
)  # fmt: skip
def test_not_a_vietnamese_mobile(typed: str) -> None:
    assert normalise_phone(typed) is None


def test_only_given_keys_are_returned_and_cleaned() -> None:
    contact, problems = normalise_contact(
        {"name": "  Nguyễn   Thị\tLan ", "phone": "+84 912.345.678", "address": " 12 Lê Lợi "}
    )
    assert problems == []
    assert contact == {"name": "Nguyễn Thị Lan", "phone": "0912345678", "address": "12 Lê Lợi"}


def test_text_is_nfc() -> None:
    import unicodedata

    contact, _ = normalise_contact({"name": unicodedata.normalize("NFD", "Trần Văn Đức")})
    assert contact["name"] == "Trần Văn Đức"
    assert contact["name"] == unicodedata.normalize("NFC", "Trần Văn Đức")


def test_none_and_blank_clear_a_field() -> None:
    contact, problems = normalise_contact({"ward": None, "note": "   ", "phone": " "})
    assert contact == {"ward": None, "note": None, "phone": None}
    assert problems == []


def test_note_keeps_its_lines() -> None:
    contact, _ = normalise_contact({"note": "  giao giờ hành chính\ngọi trước  "})
    assert contact["note"] == "giao giờ hành chính\ngọi trước"


def test_province_becomes_the_official_name() -> None:
    contact, problems = normalise_contact({"province": "tp hcm", "ward": "Phường Bến Thành"})
    assert problems == []
    assert contact == {"province": "Thành phố Hồ Chí Minh", "ward": "Phường Bến Thành"}


def test_an_old_province_is_accepted_and_mapped() -> None:
    contact, problems = normalise_contact({"province": "Quảng Bình"})
    assert problems == []
    assert contact == {"province": "Tỉnh Quảng Trị"}
    contact, problems = normalise_contact({"province": "hai duong"})
    assert (contact, problems) == ({"province": "Thành phố Hải Phòng"}, [])


def test_every_refusal_at_once() -> None:
    contact, problems = normalise_contact(
        {"name": "Lan", "phone": "0212 345 678", "province": "Hà Tiên"}
    )
    assert [(p.code, p.field) for p in problems] == [
        ("invalid_phone", "phone"),
        ("unknown_province", "province"),
    ]
    assert "0212 345 678" in problems[0].vi and "0212 345 678" in problems[0].en
    assert "Hà Tiên" in problems[1].vi and "Hà Tiên" in problems[1].en
    # the refused values come back as typed, the good one canonical
    assert contact == {"name": "Lan", "phone": "0212 345 678", "province": "Hà Tiên"}


def test_empty_input() -> None:
    assert normalise_contact({}) == ({}, [])


def test_unknown_keys_are_ignored() -> None:
    assert normalise_contact({"email": "a@b.c", "name": "Lan"}) == ({"name": "Lan"}, [])
