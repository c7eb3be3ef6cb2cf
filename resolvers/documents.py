"""Brazilian document numbers (CPF for natural persons, CNPJ for legal ones) and contact fields."""

from __future__ import annotations

import re
import unicodedata
from operator import mul

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What str.translate deletes from an ASCII text to leave its digits.
_NOT_DIGITS = str.maketrans("", "", "".join(chr(code) for code in range(128) if not chr(code).isdigit()))
# Combining marks of the Latin accents (U+0300-U+036F without the grapheme joiner, which is not one).
_LATIN_MARKS = re.compile("[\u0300-\u034e\u0350-\u036f]")
_ZERO = ord("0")
_CPF_WEIGHTS = (tuple(range(10, 1, -1)), tuple(range(11, 1, -1)))
_CNPJ_WEIGHTS = ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))


def digits(value: str) -> str:
    """The decimal digits of `value`, always as ASCII 0-9, so one number is stored and compared one way.

    A decimal digit of any script (Arabic-Indic "٥", full-width "５", as an IME or a pasted PDF
    gives them) is read as its value: refusing them would drop them as separators and turn a phone
    into another number. Signs that only look like digits ("²", "①": str.isdigit() but not decimal,
    and int() refuses them) are separators like any other character."""
    if value.isascii():  # imports call this for every cell: the common case without a generator
        return value if value.isdigit() else value.translate(_NOT_DIGITS)
    return "".join(str(unicodedata.decimal(ch)) for ch in value if ch.isdecimal())


def _check_digit(code: bytes, weights: tuple[int, ...]) -> int:
    """The check digit over the first len(weights) digits of `code` (ASCII digits, as bytes: the sum
    runs in C, each byte weighing its digit plus 48)."""
    remainder = (sum(map(mul, code, weights)) - _ZERO * sum(weights)) % 11
    return 0 if remainder < 2 else 11 - remainder


def _check_digits_hold(number: str, weights: tuple[tuple[int, ...], tuple[int, ...]]) -> bool:
    code = number.encode("ascii")
    first, second = weights
    return code[-2] - _ZERO == _check_digit(code, first) and code[-1] - _ZERO == _check_digit(code, second)


def is_valid_cpf(value: str) -> bool:
    number = digits(value)
    if len(number) != 11 or number == number[0] * 11 or len(value) > 14:
        return False
    return _check_digits_hold(number, _CPF_WEIGHTS)


def is_valid_cnpj(value: str) -> bool:
    number = digits(value)
    if len(number) != 14 or number == number[0] * 14 or len(value) > 18:
        return False
    return _check_digits_hold(number, _CNPJ_WEIGHTS)


def is_valid_email(value: str) -> bool:
    return len(value) <= 254 and bool(_EMAIL.match(value))


def normalize_phone(value: str) -> str | None:
    """Digits only, with an optional leading +; None when it cannot be a phone number."""
    number = digits(value)
    if not 8 <= len(number) <= 15:
        return None
    return ("+" if value.strip().startswith("+") else "") + number


def search_needle(term: str) -> str:
    """What a search term is looked up as in a `search_text` column: "123.456" means digits of a
    document or phone; anything else the folded words."""
    number = digits(term)
    return number if number and len(number) * 2 >= len(term.replace(" ", "")) else fold(term)


def fold(text: str) -> str:
    """Lower case without accents, so "José" is found by "jose"."""
    if text.isascii():  # imports fold every name: most are ASCII, or ASCII once their accents go
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = _LATIN_MARKS.sub("", decomposed)
    if stripped.isascii():
        return stripped.casefold()
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
