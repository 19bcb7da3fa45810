"""Provinces: the 34 in force, the 63 old names mapped to them, and exact matching only."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from orders.checks.provinces import Province, normalise_name, provinces, resolve_province

# The 63 provinces before July 2025, as people write them.
OLD_63 = [
    "Hà Nội", "Hà Giang", "Cao Bằng", "Bắc Kạn", "Tuyên Quang", "Lào Cai", "Điện Biên", "Lai Châu",
    "Sơn La", "Yên Bái", "Hòa Bình", "Thái Nguyên", "Lạng Sơn", "Quảng Ninh", "Bắc Giang",
    "Phú Thọ", "Vĩnh Phúc", "Bắc Ninh", "Hải Dương", "Hải Phòng", "Hưng Yên", "Thái Bình",
    "Hà Nam", "Nam Định", "Ninh Bình", "Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Quảng Bình",
    "Quảng Trị", "Thừa Thiên Huế", "Đà Nẵng", "Quảng Nam", "Quảng Ngãi", "Bình Định", "Phú Yên",
    "Khánh Hòa", "Ninh Thuận", "Bình Thuận", "Kon Tum", "Gia Lai", "Đắk Lắk", "Đắk Nông",
    "Lâm Đồng", "Bình Phước", "Tây Ninh", "Bình Dương", "Đồng Nai", "Bà Rịa - Vũng Tàu",
    "Hồ Chí Minh", "Long An", "Tiền Giang", "Bến Tre", "Trà Vinh", "Vĩnh Long", "Đồng Tháp",
    "An Giang", "Kiên Giang", "Cần Thơ", "Hậu Giang", "Sóc Trăng", "Bạc Liêu", "Cà Mau",
]  # fmt: skip

# The 34 since 1 July 2025 (Resolution 202/2025/QH15), short names.
NEW_34 = [
    "Hà Nội", "Huế", "Lai Châu", "Điện Biên", "Sơn La", "Lạng Sơn", "Quảng Ninh", "Thanh Hóa",
    "Nghệ An", "Hà Tĩnh", "Cao Bằng", "Tuyên Quang", "Lào Cai", "Thái Nguyên", "Phú Thọ",
    "Bắc Ninh", "Hưng Yên", "Hải Phòng", "Ninh Bình", "Quảng Trị", "Đà Nẵng", "Quảng Ngãi",
    "Gia Lai", "Khánh Hòa", "Lâm Đồng", "Đắk Lắk", "Hồ Chí Minh", "Đồng Nai", "Tây Ninh",
    "Cần Thơ", "Vĩnh Long", "Đồng Tháp", "Cà Mau", "An Giang",
]  # fmt: skip

# Old province -> the province it is part of now.
MERGES = [
    ("Quảng Bình", "Quảng Trị"),
    ("Hải Dương", "Hải Phòng"),
    ("Bình Dương", "Hồ Chí Minh"),
    ("Bà Rịa - Vũng Tàu", "Hồ Chí Minh"),
    ("Hà Giang", "Tuyên Quang"),
    ("Bắc Kạn", "Thái Nguyên"),
    ("Yên Bái", "Lào Cai"),
    ("Hòa Bình", "Phú Thọ"),
    ("Vĩnh Phúc", "Phú Thọ"),
    ("Bắc Giang", "Bắc Ninh"),
    ("Thái Bình", "Hưng Yên"),
    ("Hà Nam", "Ninh Bình"),
    ("Nam Định", "Ninh Bình"),
    ("Quảng Nam", "Đà Nẵng"),
    ("Kon Tum", "Quảng Ngãi"),
    ("Bình Định", "Gia Lai"),
    ("Phú Yên", "Đắk Lắk"),
    ("Ninh Thuận", "Khánh Hòa"),
    ("Đắk Nông", "Lâm Đồng"),
    ("Bình Thuận", "Lâm Đồng"),
    ("Bình Phước", "Đồng Nai"),
    ("Long An", "Tây Ninh"),
    ("Tiền Giang", "Đồng Tháp"),
    ("Bến Tre", "Vĩnh Long"),
    ("Trà Vinh", "Vĩnh Long"),
    ("Kiên Giang", "An Giang"),
    ("Hậu Giang", "Cần Thơ"),
    ("Sóc Trăng", "Cần Thơ"),
    ("Bạc Liêu", "Cà Mau"),
    ("Thừa Thiên Huế", "Huế"),
]


def test_there_are_34_provinces_with_unique_codes_and_names() -> None:
    found = provinces()
    assert len(found) == 34
    assert len({p.code for p in found}) == 34
    assert sorted(p.short_name for p in found) == sorted(NEW_34)
    assert all(p.name.startswith(("Tỉnh ", "Thành phố ")) for p in found)
    assert all(p.legacy_name is None for p in found)
    assert [p.code for p in found] == sorted(p.code for p in found)


def test_province_is_frozen() -> None:
    hanoi = resolve_province("Hà Nội")
    assert hanoi is not None
    with pytest.raises(AttributeError):
        hanoi.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize("short", NEW_34)
def test_every_province_in_force_resolves_to_itself(short: str) -> None:
    for typed in (short, short.lower(), short.upper(), normalise_name(short)):
        province = resolve_province(typed)
        assert province is not None, typed
        assert province.short_name == short
        assert province.legacy_name is None
        assert province.typed == typed


@pytest.mark.parametrize("province", provinces(), ids=lambda p: p.short_name)
def test_every_official_name_resolves_to_itself(province: Province) -> None:
    found = resolve_province(province.name)
    assert found is not None
    assert (found.code, found.name, found.short_name) == (
        province.code, province.name, province.short_name
    )  # fmt: skip


@pytest.mark.parametrize("old", OLD_63)
def test_every_old_province_maps_to_one_of_the_34(old: str) -> None:
    new_names = {p.name for p in provinces()}
    for typed in (old, old.lower(), f"Tỉnh {old}", _unaccented(old)):
        province = resolve_province(typed)
        assert province is not None, typed
        assert province.name in new_names
        if old in NEW_34:
            assert province.short_name == old
            assert province.legacy_name is None
        else:
            assert province.legacy_name is not None
            assert province.legacy_name.endswith(old)


def test_the_old_list_has_63_names() -> None:
    assert len(set(OLD_63)) == 63
    assert len({resolve_province(name).name for name in OLD_63}) == 34  # type: ignore[union-attr]


@pytest.mark.parametrize(("old", "new"), MERGES)
def test_known_merges(old: str, new: str) -> None:
    province = resolve_province(old)
    assert province is not None
    assert province.short_name == new
    assert province.typed == old
    assert province.legacy_name is not None and old in province.legacy_name


def test_quang_binh_in_full() -> None:
    assert resolve_province("Tỉnh Quảng Bình") == Province(
        code="44", name="Tỉnh Quảng Trị", short_name="Quảng Trị", typed="Tỉnh Quảng Bình",
        legacy_name="Tỉnh Quảng Bình",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "short"),
    [
        ("hn", "Hà Nội"),
        ("HN", "Hà Nội"),
        ("hà nội", "Hà Nội"),
        ("Ha Noi", "Hà Nội"),
        ("HANOI", "Hà Nội"),
        ("TP Hà Nội", "Hà Nội"),
        ("Thành phố Hà Nội", "Hà Nội"),
        ("thanh pho ha noi", "Hà Nội"),
        ("hcm", "Hồ Chí Minh"),
        ("HCM", "Hồ Chí Minh"),
        ("tp hcm", "Hồ Chí Minh"),
        ("tphcm", "Hồ Chí Minh"),
        ("TP.HCM", "Hồ Chí Minh"),
        ("Tp. Hồ Chí Minh", "Hồ Chí Minh"),
        ("T.P. Hồ Chí Minh", "Hồ Chí Minh"),
        ("sài gòn", "Hồ Chí Minh"),
        ("Sài Gòn", "Hồ Chí Minh"),
        ("saigon", "Hồ Chí Minh"),
        ("sg", "Hồ Chí Minh"),
        ("SG", "Hồ Chí Minh"),
        ("Vũng Tàu", "Hồ Chí Minh"),
        ("BR-VT", "Hồ Chí Minh"),
        ("  Đà   Nẵng  ", "Đà Nẵng"),
        ("tp.đà nẵng", "Đà Nẵng"),
        ("DA NANG", "Đà Nẵng"),
        ("Thanh Hoá", "Thanh Hóa"),  # the other placement of the tone mark
        ("Khánh Hoà", "Khánh Hòa"),
        ("Hoà Bình", "Phú Thọ"),
        ("dak lak", "Đắk Lắk"),
        ("Đăk Lăk", "Đắk Lắk"),
        ("Đắc Lắc", "Đắk Lắk"),
        ("Kontum", "Quảng Ngãi"),
        ("Bắc Cạn", "Thái Nguyên"),
        ("Hà Tây", "Hà Nội"),
        ("Thừa Thiên - Huế", "Huế"),
        ("Hue", "Huế"),
        ("Hà Nội.", "Hà Nội"),
        ("tỉnh quảng ninh", "Quảng Ninh"),
    ],
)
def test_common_spellings(typed: str, short: str) -> None:
    province = resolve_province(typed)
    assert province is not None, typed
    assert province.short_name == short


def test_decomposed_unicode_is_the_same_name() -> None:
    typed = unicodedata.normalize("NFD", "Quảng Bình")
    province = resolve_province(typed)
    assert province is not None and province.short_name == "Quảng Trị"
    assert province.typed == "Quảng Bình"  # kept NFC


@pytest.mark.parametrize(
    "typed",
    [
        "", "   ", "Tỉnh", "thành phố", "tp", "xyz", "Mars", "Quận 1", "Hà", "Nội",
        "Hà Nội Hà Nội", "Hà Nội, Việt Nam", "Quảng", "Bình", "Hà Tiên", "Vũng Tàu city",
        "123", "!!!", "hnn", "ha noii", "Đồng", "Tây", "tpp hcm",
    ],
)  # fmt: skip
def test_anything_else_is_no_province(typed: str) -> None:
    assert resolve_province(typed) is None


def test_the_package_itself_is_never_imported() -> None:
    """Only its data files are read: importing it runs its slow fuzzy parsers' set-up."""
    assert resolve_province("hn") is not None
    assert not [name for name in sys.modules if name.startswith("vietnamadminunits")]


def _unaccented(text: str) -> str:
    plain = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in plain if not unicodedata.combining(c))
