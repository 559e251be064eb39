"""The one search rule: what a typed text is read as, and the lookups each reading makes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from clinic.models import Patient
from clinic.search import (
    NOTHING,
    SearchTerm,
    TermKind,
    field_terms,
    matching_patients,
    parse_term,
    patient_filter,
    patient_ordering,
    validate_phone_search,
    validate_search_text,
)
from clinic.tests.factories import PatientFactory, make_resident_id


def resident_id(*, ending_in_x: bool) -> str:
    """A valid resident ID number, born on a day the factories' numbers never use."""
    for seed in range(1000):
        number = make_resident_id(dt.date(1959, 12, 31), seed=seed)
        if number.endswith("X") == ending_in_x:
            return number
    raise AssertionError("no seed below 1000 gives such a check character")


ID_X = resident_id(ending_in_x=True)
ID_DIGITS = resident_id(ending_in_x=False)


class TestParseTerm:
    @pytest.mark.parametrize("typed", ["", "   ", None, "\u3000"])
    def test_nothing_typed_is_no_search(self, typed):
        assert parse_term(typed) is None

    def test_a_resident_id_number_any_case_and_spaced(self):
        typed = f" {ID_X[:6]} {ID_X[6:14]} {ID_X[14:].lower()} "
        assert parse_term(typed) == SearchTerm(TermKind.ID_NUMBER, ID_X)

    def test_eighteen_digits_are_an_id_number_not_a_phone(self):
        assert parse_term(ID_DIGITS) == SearchTerm(TermKind.ID_NUMBER, ID_DIGITS)

    @pytest.mark.parametrize(
        ("typed", "digits"),
        [
            ("139", "139"),
            ("1391234", "1391234"),
            ("139 1234 5678", "13912345678"),
            ("139-1234-5678", "13912345678"),
            ("+86 139 1234 5678", "13912345678"),
            ("+8613912345678", "13912345678"),
            # Full-width digits, signs and spaces, as Chinese input methods type them.
            ("１３９１２３４５６７８", "13912345678"),
            ("＋８６\u3000１３９", "139"),
        ],
    )
    def test_digits_are_a_phone(self, typed, digits):
        assert parse_term(typed) == SearchTerm(TermKind.PHONE, digits)

    def test_eleven_digits_are_the_whole_phone_fewer_its_beginning(self):
        assert parse_term("13912345678").is_full_phone
        assert not parse_term("1391234567").is_full_phone

    @pytest.mark.parametrize("typed", ["1", "13", "1 3", "+86 13"])
    def test_one_or_two_digits_are_too_short(self, typed):
        term = parse_term(typed)
        assert term.kind == TermKind.PHONE and term.is_too_short

    def test_three_digits_are_not_too_short(self):
        assert not parse_term("139").is_too_short

    @pytest.mark.parametrize(
        "typed", ["b20261128-7k3pq9", "B20261128-7K3PQ9", " B20261128-7K3PQ9 "]
    )
    def test_a_bill_number_any_case(self, typed):
        assert parse_term(typed) == SearchTerm(TermKind.BILL_NUMBER, "B20261128-7K3PQ9")

    def test_a_booking_reference_any_case(self):
        term = parse_term("k7m2pq9x")
        assert (term.kind, term.value) == (TermKind.REFERENCE, "K7M2PQ9X")

    def test_a_reference_of_digits_only_is_a_reference(self):
        """No 0 or 1 in a reference, and every mobile number begins with 1."""
        assert parse_term("23456789") == SearchTerm(TermKind.REFERENCE, "23456789", "23456789")
        assert parse_term("13456789").kind == TermKind.PHONE

    def test_a_reference_may_also_be_a_name(self):
        """Eight readable letters: a reference for bookings, a name's beginning for patients."""
        term = parse_term("wangfang")
        assert (term.kind, term.value, term.document) == (TermKind.REFERENCE, "WANGFANG", "")

    @pytest.mark.parametrize("typed", ["王", "王小", "o'brien", "张三1234", "a.b"])
    def test_anything_else_is_a_name_as_typed(self, typed):
        assert parse_term(typed) == SearchTerm(TermKind.NAME, typed)

    @pytest.mark.parametrize(
        ("typed", "letters", "phone"),
        [
            ("Wang Fang", "Wang Fang", ""),
            ("wang", "wang", ""),
            ("zs", "zs", ""),
            ("zs 138", "zs", "138"),
            ("138 zs", "zs", "138"),
            ("1a", "a", "1"),
            ("zhang san 139-1234", "zhang san", "1391234"),
        ],
    )
    def test_latin_letters_are_pinyin_alone_or_with_a_phone_fragment(self, typed, letters, phone):
        term = parse_term(typed)
        assert (term.kind, term.value, term.phone) == (TermKind.PINYIN, letters, phone)

    def test_a_name_keeps_its_own_characters(self):
        """Only trimmed: a name is looked up as it is stored, not folded to ASCII."""
        assert parse_term("  Ｏ＇Ｂｒｉｅｎ ").value == "Ｏ＇Ｂｒｉｅｎ"
        # Full-width Latin letters are pinyin, read as ASCII.
        assert parse_term("  Ｗａｎｇ ").value == "Wang"

    @pytest.mark.parametrize("typed", ["G-1234-5", "ab-12345"])
    def test_another_documents_number_is_a_name_and_that_number(self, typed):
        term = parse_term(typed)
        assert term.kind == TermKind.NAME and term.document == typed.upper()

    @pytest.mark.parametrize("typed", ["e12345678", "E12345678", "ab12345", "zs1380"])
    def test_pinyin_with_digits_may_be_a_documents_number_too(self, typed):
        term = parse_term(typed)
        assert term.kind == TermKind.PINYIN and term.document == typed.upper()

    @pytest.mark.parametrize("typed", ["abcdef", "a1", "张三1234", "Wang Fang 1"])
    def test_no_document_without_a_digit_or_with_other_characters(self, typed):
        assert parse_term(typed).document == ""


class TestFieldTerms:
    def test_each_field_read_as_it_says(self):
        terms = field_terms(name=" 王 ", phone="139 1234", id_card=ID_X.lower())
        assert terms == [
            SearchTerm(TermKind.ID_NUMBER, ID_X),
            SearchTerm(TermKind.PHONE, "1391234"),
            SearchTerm(TermKind.NAME, "王"),
        ]

    def test_blank_fields_are_left_out(self):
        assert field_terms(name="  ", phone="", id_card=None) == []

    def test_a_name_field_is_always_a_name(self):
        """Digits in the name field are a name's beginning, not a phone."""
        assert field_terms(name="139") == [SearchTerm(TermKind.NAME, "139")]

    def test_an_id_card_field_is_exact_whatever_the_document(self):
        assert field_terms(id_card="e12345678") == [SearchTerm(TermKind.ID_NUMBER, "E12345678")]

    @pytest.mark.parametrize(
        ("phone", "code"),
        [("13", "phone_too_short"), ("1", "phone_too_short"), ("abc", "phone_not_digits")],
    )
    def test_a_phone_field_needs_three_digits(self, phone, code):
        with pytest.raises(ValidationError) as raised:
            validate_phone_search(phone)
        assert raised.value.code == code
        with pytest.raises(ValidationError):
            field_terms(phone=phone)

    @pytest.mark.parametrize("phone", ["139", "+86 139", "１３９", "13912345678"])
    def test_a_phone_field_from_three_digits_is_accepted(self, phone):
        validate_phone_search(phone)

    def test_free_text_is_refused_only_for_too_few_digits(self):
        for accepted in ("王", "139", "K7M2PQ9X", ""):
            validate_search_text(accepted)
        with pytest.raises(ValidationError):
            validate_search_text("13")


@pytest.mark.django_db
class TestPatientLookups:
    @pytest.fixture
    def people(self):
        return {
            "ming": PatientFactory(name="王小明", phone="13912345678", id_card=ID_X),
            "hong": PatientFactory(name="王小红", phone="13912345678", id_card=None),
            "wei": PatientFactory(name="王大伟", phone="13987654321"),
            "fang": PatientFactory(name="Wang Fang", phone="13700001111"),
            "passport": PatientFactory(
                name="李四", phone="13600003333", id_type="passport", id_card="E12345678"
            ),
        }

    def found(self, typed: str) -> set[str]:
        names = matching_patients([parse_term(typed)]).values_list("name", flat=True)
        return set(names)

    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("王", {"王小明", "王小红", "王大伟"}),
            ("王小", {"王小明", "王小红"}),
            ("小明", set()),  # a beginning, not a part
            # Latin letters are pinyin: a name in Latin letters is its own pinyin key.
            ("WANG", {"Wang Fang", "王小明", "王小红", "王大伟"}),
            ("wang f", {"Wang Fang"}),
            ("wxm", {"王小明"}),
            ("wx 139", {"王小明", "王小红"}),
            ("139", {"王小明", "王小红", "王大伟"}),
            ("139 1234 5678", {"王小明", "王小红"}),
            ("1391234567", {"王小明", "王小红"}),
            ("13", set()),
            ("9123", set()),  # a phone's beginning, never its middle
            (ID_X.lower(), {"王小明"}),
            ("e12345678", {"李四"}),
            ("B20261128-7K3PQ9", set()),
        ],
    )
    def test_what_each_text_finds(self, people, typed, expected):
        assert self.found(typed) == expected

    def test_nothing_typed_finds_everyone(self, people):
        assert matching_patients([parse_term("")]).count() == len(people)

    def test_too_few_digits_ask_the_database_nothing(self, people, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert list(Patient.objects.filter(patient_filter(parse_term("13")))) == []

    def test_terms_are_all_required(self, people):
        terms = field_terms(name="王", phone="139123")
        assert set(matching_patients(terms).values_list("name", flat=True)) == {"王小明", "王小红"}

    def test_a_prefix_reaches_the_patient_from_another_model(self):
        lookup = patient_filter(parse_term("王"), prefix="visit__patient__")
        assert lookup.children == [("visit__patient__name__istartswith", "王")]

    def test_a_full_phone_is_an_equality_a_shorter_one_a_prefix(self):
        assert patient_filter(parse_term("13912345678")).children == [("phone", "13912345678")]
        assert patient_filter(parse_term("139123")).children == [("phone__istartswith", "139123")]
        assert patient_filter(parse_term("13")) == NOTHING

    def test_the_order_follows_the_index_read(self):
        assert patient_ordering(parse_term("王")) == ("name", "id")
        assert patient_ordering(parse_term("139")) == ("phone", "id")
        assert patient_ordering(*field_terms(name="王", id_card=ID_X)) == ("id_card", "id")


def test_a_long_text_is_read_up_to_its_first_hundred_characters():
    """Letters and spaces repeated thousands of times once took seconds of backtracking."""
    from clinic.search import MAX_SEARCH_TEXT, parse_term

    term = parse_term("zs " * 5000 + "138")
    assert term is not None
    assert len(term.value) <= MAX_SEARCH_TEXT
