from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from clinic.privacy import mask_id_card, mask_name, mask_phone
from clinic.tests.factories import make_resident_id
from clinic.validators import (
    birth_date_from_resident_id,
    normalize_phone,
    resident_id_check_char,
    validate_mobile_phone,
    validate_not_blank,
    validate_resident_id,
)

# Published examples of the GB 11643 check digit (including an X).
REAL_FORMAT_IDS = ["11010519491231002X", "320106199211305058", "11010119900307803X"]


@pytest.mark.parametrize("value", REAL_FORMAT_IDS)
def test_real_format_resident_ids_are_accepted(value):
    validate_resident_id(value)


def test_lower_case_x_is_accepted():
    validate_resident_id("11010519491231002x")


@pytest.mark.parametrize("seed", range(20))
def test_generated_ids_pass_and_every_other_check_digit_fails(seed):
    valid = make_resident_id(seed=seed)
    validate_resident_id(valid)
    for wrong in "0123456789X":
        if wrong != valid[-1]:
            with pytest.raises(ValidationError) as excinfo:
                validate_resident_id(valid[:17] + wrong)
            assert excinfo.value.code == "invalid_id_check_digit"


@pytest.mark.parametrize(
    "birth",
    ["19490230", "19491301", "18991231", "20991231"],
    ids=["february-30", "month-13", "before-1900", "in-the-future"],
)
def test_impossible_birth_dates_are_refused(birth):
    first17 = f"110105{birth}002"
    with pytest.raises(ValidationError) as excinfo:
        validate_resident_id(first17 + resident_id_check_char(first17))
    assert excinfo.value.code == "invalid_id_birth_date"


@pytest.mark.parametrize(
    "value",
    ["", "1101051949123100", "11010519491231002Y", "1101051949123100211", "ABCDEFGHIJKLMNOPQR"],
)
def test_malformed_ids_are_refused(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_resident_id(value)
    assert excinfo.value.code == "invalid_id_format"


def test_birth_date_is_read_from_the_id():
    assert birth_date_from_resident_id("11010519491231002X") == dt.date(1949, 12, 31)


@pytest.mark.parametrize("value", ["13812345678", "19912345678", "15000000000"])
def test_mainland_mobiles_are_accepted(value):
    validate_mobile_phone(value)


@pytest.mark.parametrize(
    "value", ["1381234567", "138123456789", "12812345678", "23812345678", "1381234567a", ""]
)
def test_short_long_or_foreign_phones_are_refused(value):
    with pytest.raises(ValidationError):
        validate_mobile_phone(value)


def test_phone_normalisation_strips_separators_and_country_code():
    assert normalize_phone("+86 138-1234-5678") == "13812345678"


@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_blank_names_are_refused(value):
    with pytest.raises(ValidationError):
        validate_not_blank(value)


def test_masks_keep_only_what_identifies_nothing():
    assert mask_id_card("11010519491231002X") == "110***********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张**"
    # Always two stars: a masked name does not tell how long the name is.
    assert mask_name("张") == mask_name("张三") == mask_name("张三丰四五") == "张**"
