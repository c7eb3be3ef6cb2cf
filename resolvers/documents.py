"""Brazilian document numbers (CPF for natural persons, CNPJ for legal ones) and contact fields."""

from __future__ import annotations

import re
import unicodedata

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def digits(value: str) -> str:
    """The decimal digits of `value`, always as ASCII 0-9, so one number is stored and compared one way.

    A decimal digit of any script (Arabic-Indic "٥", full-width "５", as an IME or a pasted PDF
    gives them) is read as its value: refusing them would drop them as separators and turn a phone
    into another number. Signs that only look like digits ("²", "①": str.isdigit() but not decimal,
    and int() refuses them) are separators like any other character."""
    if value.isascii():  # imports call this for every cell: the common case without a generator
        return value if value.isdigit() else "".join(filter(str.isdigit, value))
    return "".join(str(unicodedata.decimal(ch)) for ch in value if ch.isdecimal())


def _check_digit(numbers: list[int], weights: list[int]) -> int:
    remainder = sum(n * w for n, w in zip(numbers, weights)) % 11
    return 0 if remainder < 2 else 11 - remainder


def is_valid_cpf(value: str) -> bool:
    number = digits(value)
    if len(number) != 11 or number == number[0] * 11 or len(value) > 14:
        return False
    nums = [int(ch) for ch in number]
    first = _check_digit(nums[:9], list(range(10, 1, -1)))
    second = _check_digit(nums[:9] + [first], list(range(11, 1, -1)))
    return nums[9] == first and nums[10] == second


def is_valid_cnpj(value: str) -> bool:
    number = digits(value)
    if len(number) != 14 or number == number[0] * 14 or len(value) > 18:
        return False
    nums = [int(ch) for ch in number]
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    first = _check_digit(nums[:12], weights)
    second = _check_digit(nums[:12] + [first], [6] + weights)
    return nums[12] == first and nums[13] == second


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
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
