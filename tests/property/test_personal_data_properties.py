"""Phone normalisation: the mainland-mobile fast path agrees with phonenumbers."""

from __future__ import annotations

import phonenumbers
from hypothesis import given
from hypothesis import strategies as st

from eshop_core.personal_data import PiiKind, normalise


def _reference(text: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(text, "CN"), phonenumbers.PhoneNumberFormat.E164)


@given(
    second=st.sampled_from("3456789"),
    rest=st.text(alphabet="0123456789", min_size=9, max_size=9),
    prefix=st.sampled_from(["", "+86", "+86 ", "0086", "86", "+86-"]),
    separator=st.sampled_from(["", " ", "-", "  "]),
)
def test_cn_mobile_fast_path_matches_phonenumbers(
    second: str, rest: str, prefix: str, separator: str
) -> None:
    digits = f"1{second}{rest}"
    text = prefix + separator.join([digits[:3], digits[3:7], digits[7:]])
    assert normalise(text, PiiKind.PHONE) == _reference(text) == f"+86{digits}"


@given(st.text(alphabet="0123456789+ -", min_size=1, max_size=16))
def test_phone_normalisation_is_idempotent(text: str) -> None:
    once = normalise(text, PiiKind.PHONE)
    assert normalise(once, PiiKind.PHONE) == once or not once.startswith("+")
