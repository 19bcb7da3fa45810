"""The shop configuration loader: broken files are refused with file, field path and reason.

COMMENT_SYNTAX.md, "The shop configuration (TOML)": every `[syntax]` key is optional and the values
of the example there are the defaults.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from config.loader import ConfigError, load_product_group, load_shop
from config.shop import ShopConfig, Syntax

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_SHOP = REPO_ROOT / "config" / "shops" / "demo.toml"
SPEC = REPO_ROOT.parent / "shared" / "COMMENT_SYNTAX.md"

SHOP_HEADER = '[shop]\nid = "shop-test"\nname = "Shop Test"\n'
PRODUCT = '[[products]]\ncode = "A12"\nname = "Áo"\nprice = 159000\n'


def write(tmp_path: Path, text: str, name: str = "shop.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_shop(path)
    error = caught.value
    # The file is always named, in the object and in the message a person reads.
    assert error.source == str(path)
    assert str(path) in str(error)
    assert error.problems, "a refusal must say what is wrong"
    return error


def spec_example_toml() -> str:
    text = SPEC.read_text(encoding="utf-8")
    match = re.search(r"```toml\n(.*?)```", text, re.DOTALL)
    assert match, "COMMENT_SYNTAX.md has lost its example configuration"
    return match.group(1)


# (case id, file text, expected field path, words the reason must contain)
BROKEN: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "unknown key",
        SHOP_HEADER + '[syntax]\norder_keyword = ["chốt"]\n',
        "syntax.order_keyword",
        ("unknown setting",),
    ),
    (
        "unknown top-level table",
        SHOP_HEADER + "[sytnax]\nmax_quantity = 5\n",
        "sytnax",
        ("unknown setting",),
    ),
    (
        "unknown product key",
        SHOP_HEADER + PRODUCT + "prise = 5\n",
        "products[0].prise",
        ("unknown setting",),
    ),
    (
        "wrong type",
        SHOP_HEADER + '[syntax]\nmax_quantity = "lots"\n',
        "syntax.max_quantity",
        ("integer",),
    ),
    (
        "wrong type for a keyword list",
        SHOP_HEADER + '[syntax]\norder_keywords = "chốt"\n',
        "syntax.order_keywords",
        (),
    ),
    (
        "wrong type for require_keyword",
        SHOP_HEADER + '[syntax]\nrequire_keyword = "maybe"\n',
        "syntax.require_keyword",
        ("bool",),
    ),
    (
        "negative price",
        SHOP_HEADER + '[[products]]\ncode = "A12"\nname = "Áo"\nprice = -1\n',
        "products[0].price",
        ("greater than or equal to 0",),
    ),
    (
        "negative stock",
        SHOP_HEADER + PRODUCT + "stock = -3\n",
        "products[0].stock",
        ("greater than or equal to 0",),
    ),
    (
        "missing price",
        SHOP_HEADER + '[[products]]\ncode = "A12"\nname = "Áo"\n',
        "products[0].price",
        ("missing",),
    ),
    (
        "duplicate codes",
        SHOP_HEADER + PRODUCT + '[[products]]\ncode = "A12"\nname = "Áo 2"\nprice = 1\n',
        "products",
        ("A12", "twice"),
    ),
    (
        "duplicate codes differing in case",
        SHOP_HEADER + PRODUCT + '[[products]]\ncode = "a12"\nname = "Áo 2"\nprice = 1\n',
        "products",
        ("A12", "twice"),
    ),
    (
        "empty attribute list",
        SHOP_HEADER + PRODUCT + "[products.attributes]\nsize = []\n",
        "products[0].attributes",
        ("size", "no values"),
    ),
    (
        "attribute value listed twice",
        SHOP_HEADER + PRODUCT + '[products.attributes]\nsize = ["M", "m"]\n',
        "products[0].attributes",
        ("size", "twice"),
    ),
    (
        "bad regex in code_pattern",
        SHOP_HEADER + '[syntax]\ncode_pattern = "[A-Z{1,4"\n',
        "syntax.code_pattern",
        ("regular expression",),
    ),
    (
        "repeat_comment not ignore/add",
        SHOP_HEADER + '[orders]\nrepeat_comment = "merge"\n',
        "orders.repeat_comment",
        ("ignore", "add"),
    ),
    (
        "code with spaces",
        SHOP_HEADER + '[[products]]\ncode = "A 12"\nname = "Áo"\nprice = 1\n',
        "products[0].code",
        ("letters and digits",),
    ),
    (
        "code with a dash",
        SHOP_HEADER + PRODUCT + '[[products]]\ncode = "B-3"\nname = "Quần"\nprice = 1\n',
        "products[1].code",
        ("letters and digits",),
    ),
    (
        "max_quantity zero",
        SHOP_HEADER + "[syntax]\nmax_quantity = 0\n",
        "syntax.max_quantity",
        ("greater than or equal to 1",),
    ),
    (
        "empty keyword",
        SHOP_HEADER + '[syntax]\ncancel_keywords = ["hủy", ""]\n',
        "syntax.cancel_keywords[1]",
        (),
    ),
    (
        "missing shop id",
        '[shop]\nname = "Shop Test"\n',
        "shop.id",
        ("missing",),
    ),
    (
        "missing [shop]",
        "[syntax]\nmax_quantity = 5\n",
        "shop",
        ("missing",),
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "reason_words"),
    [pytest.param(text, field, words, id=case) for case, text, field, words in BROKEN],
)
def test_broken_file_is_refused_with_field_and_reason(
    tmp_path: Path, text: str, field: str, reason_words: tuple[str, ...]
) -> None:
    path = write(tmp_path, text)
    error = refusal(path)
    fields = [problem_field for problem_field, _ in error.problems]
    assert field in fields, f"expected field {field!r} among {error.problems}"
    reason = next(reason for problem_field, reason in error.problems if problem_field == field)
    assert reason.strip()
    for word in reason_words:
        assert word.lower() in reason.lower(), f"reason {reason!r} should mention {word!r}"
    # The one-line message carries file, field and reason together.
    assert f"{path}: {field}: {reason}" in str(error)


def test_alias_given_to_two_values_is_refused_naming_aliases(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_HEADER + '[aliases]\n"đỏ" = ["red"]\n"đen" = ["red", "black"]\n')
    error = refusal(path)
    message = str(error)
    assert "red" in message and "đỏ" in message and "đen" in message
    # The field path points at the [aliases] table, like every other refusal names its field.
    assert any(field.startswith("aliases") for field, _ in error.problems), error.problems


def test_alias_repeated_for_the_same_value_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_HEADER + '[aliases]\n"đỏ" = ["red", "RED"]\n')
    assert load_shop(path).aliases["đỏ"] == ("red", "RED")


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP_HEADER + "[syntax]\nmax_quantity 50\n")
    error = refusal(path)
    assert "not valid TOML" in str(error)
    assert "line 5" in str(error)


def test_invalid_toml_unterminated_string_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[shop]\nid = "x"\nname = "Shop\n')
    assert "line 3" in str(refusal(path))


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "shop.toml"
    error = refusal(path)
    assert "not found" in str(error)


def test_directory_is_refused(tmp_path: Path) -> None:
    error = refusal(tmp_path)
    assert "directory" in str(error)


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_bytes(
        (SHOP_HEADER + 'currency = "đ"\n').encode("cp1258", errors="replace") + b"\xff"
    )
    assert "UTF-8" in str(refusal(path))


def test_several_faults_are_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SHOP_HEADER
        + "[syntax]\nmax_quantity = -1\n"
        + '[orders]\nrepeat_comment = "twice"\n'
        + '[[products]]\ncode = "A12"\nname = "Áo"\nprice = -5\n',
    )
    fields = {field for field, _ in refusal(path).problems}
    assert {"syntax.max_quantity", "orders.repeat_comment", "products[0].price"} <= fields


def test_sample_shop_is_accepted() -> None:
    shop = load_shop(DEMO_SHOP)
    assert shop.shop.id == "shop-demo"
    assert [product.code for product in shop.products] == ["A12", "B3", "MP10", "K2", "V5"]
    a12 = shop.products[0]
    assert a12.attributes == {"size": ("S", "M", "L", "XL"), "color": ("đỏ", "đen", "trắng")}
    assert a12.stock == 40
    assert shop.products[1].attributes == {"size": ("28", "29", "30", "31", "32")}
    assert shop.products[2].attributes == {}
    assert shop.aliases == {"đỏ": ("red", "dd"), "đen": ("black",), "trắng": ("white", "tr")}


def test_sample_shop_syntax_is_the_default_syntax() -> None:
    assert load_shop(DEMO_SHOP).syntax == Syntax()


def test_spec_example_configuration_is_accepted(tmp_path: Path) -> None:
    shop = load_shop(write(tmp_path, spec_example_toml()))
    assert [product.code for product in shop.products] == ["A12", "B3", "MP10"]


def test_minimal_file_with_only_shop_is_accepted_with_spec_defaults(tmp_path: Path) -> None:
    shop = load_shop(write(tmp_path, SHOP_HEADER))
    assert shop.products == ()
    assert shop.aliases == {}
    assert shop.shop.currency == "VND"
    assert shop.orders.repeat_comment == "ignore"

    example = tomllib.loads(spec_example_toml())
    syntax = shop.syntax
    for key, value in example["syntax"].items():
        actual = getattr(syntax, key)
        expected = tuple(value) if isinstance(value, list) else value
        assert actual == expected, f"default of [syntax] {key} differs from COMMENT_SYNTAX.md"
    # Every key of the spec's example is a setting (the rest are documented extensions).
    assert set(example["syntax"]) <= set(Syntax.model_fields)
    assert example["orders"]["repeat_comment"] == shop.orders.repeat_comment


def test_extension_defaults_are_the_documented_decisions(tmp_path: Path) -> None:
    syntax = load_shop(write(tmp_path, SHOP_HEADER)).syntax
    assert syntax.code_markers == ("mã", "code", "sp")
    assert syntax.attribute_labels == {
        "size": ("size", "sz", "sai", "cỡ"),
        "color": ("màu", "color"),
    }


def test_values_are_normalised_to_nfc_and_codes_upper_cased(tmp_path: Path) -> None:
    nfd_red = "đỏ".replace("ỏ", "o\u0309")  # o + combining hook above
    path = write(
        tmp_path,
        SHOP_HEADER
        + '[syntax]\norder_keywords = ["cho\u0302\u0301t"]\n'
        + '[[products]]\ncode = "a12"\nname = " Áo "\nprice = 1\n'
        + f'[products.attributes]\ncolor = ["{nfd_red}"]\nsize = [28, 29]\n',
    )
    shop = load_shop(path)
    assert shop.syntax.order_keywords == ("chốt",)
    product = shop.products[0]
    assert product.code == "A12"
    assert product.name == "Áo"
    assert product.attributes == {"color": ("đỏ",), "size": ("28", "29")}


def test_partial_syntax_keeps_other_defaults(tmp_path: Path) -> None:
    shop = load_shop(write(tmp_path, SHOP_HEADER + "[syntax]\nrequire_keyword = true\n"))
    assert shop.syntax.require_keyword is True
    assert shop.syntax.max_quantity == 50
    assert shop.syntax.order_keywords == ("chốt", "lấy", "đặt", "mua")


def test_config_is_immutable() -> None:
    shop = load_shop(DEMO_SHOP)
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError
        shop.syntax.max_quantity = 3  # type: ignore[misc]


def test_product_group_refuses_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path, PRODUCT + PRODUCT, name="group.toml")
    with pytest.raises(ConfigError) as caught:
        load_product_group(path)
    assert ("products", "product code 'A12' appears twice") in caught.value.problems


def test_product_group_replaces_products(tmp_path: Path) -> None:
    group = load_product_group(write(tmp_path, PRODUCT, name="group.toml"))
    shop = load_shop(DEMO_SHOP).with_products(group)
    assert [product.code for product in shop.products] == ["A12"]
    assert isinstance(shop, ShopConfig)


def test_permissions_of_sales_are_checked_like_any_field(tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_text('[shop]\nid = "s"\nname = "S"\n[permissions.sales]\nstats = "sometimes"\n'
                    "refunds = true\n")  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        load_shop(path)
    message = str(raised.value)
    assert "permissions.sales.stats" in message and "permissions.sales.refunds" in message
