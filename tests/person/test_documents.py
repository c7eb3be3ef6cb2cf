"""The document and text checks every import row runs are written for speed; they must answer
exactly as the textbook versions below (the ones they replaced) for any text."""

from __future__ import annotations

import random
import unicodedata

from contato.seed import make_cpf
from resolvers.documents import digits, fold, is_valid_cnpj, is_valid_cpf
from tests.factories import VALID_CNPJS


def textbook_digits(value: str) -> str:
    return "".join(str(unicodedata.decimal(ch)) for ch in value if ch.isdecimal())


def _check_digit(numbers: list[int], weights: list[int]) -> int:
    remainder = sum(n * w for n, w in zip(numbers, weights)) % 11
    return 0 if remainder < 2 else 11 - remainder


def textbook_cpf(value: str) -> bool:
    number = textbook_digits(value)
    if len(number) != 11 or number == number[0] * 11 or len(value) > 14:
        return False
    nums = [int(ch) for ch in number]
    first = _check_digit(nums[:9], list(range(10, 1, -1)))
    second = _check_digit(nums[:9] + [first], list(range(11, 1, -1)))
    return nums[9] == first and nums[10] == second


def textbook_cnpj(value: str) -> bool:
    number = textbook_digits(value)
    if len(number) != 14 or number == number[0] * 14 or len(value) > 18:
        return False
    nums = [int(ch) for ch in number]
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    first = _check_digit(nums[:12], weights)
    second = _check_digit(nums[:12] + [first], [6] + weights)
    return nums[12] == first and nums[13] == second


def textbook_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
PUNCTUATION = ".-/ ²"


def _documents(rng: random.Random) -> list[str]:
    found = [make_cpf(index) for index in range(1, 400)] + list(VALID_CNPJS)
    found += ["".join(rng.choice("0123456789") for _ in range(rng.choice((11, 14)))) for _ in range(3000)]
    found += ["11111111111", "00000000000000", "", "abc", "529.982.247-2²", "٥٢٩٩٨٢٢٤٧٢٥"]
    variants = []
    for number in found:
        variants.append(number)
        punctuated = "".join(ch + (rng.choice(PUNCTUATION) if rng.random() < 0.2 else "") for ch in number)
        variants.append(punctuated)
        variants.append(number.translate(FULL_WIDTH))
        if number.isascii() and number.isdigit():
            position = rng.randrange(len(number))
            variants.append(number[:position] + str((int(number[position]) + 1) % 10) + number[position + 1:])
    return variants


def test_the_document_checks_answer_as_the_textbook_ones() -> None:
    rng = random.Random(18)
    documents = _documents(rng)
    assert sum(map(is_valid_cpf, documents)) > 300 and sum(map(is_valid_cnpj, documents)) >= len(VALID_CNPJS)
    for document in documents:
        assert digits(document) == textbook_digits(document), document
        assert is_valid_cpf(document) == textbook_cpf(document), document
        assert is_valid_cnpj(document) == textbook_cnpj(document), document


def test_folding_answers_as_the_textbook_one() -> None:
    rng = random.Random(18)
    texts = ["José Araújo", "INDÚSTRIA SÃO JOÃO LTDA", "Ação ﬁnal", "Straße", "ǅemal", "x\u034fy", "Ⅻ",
             "Łódź", "Αθήνα", "日本", "", "plain ascii", "e\u0301", "½ café"]
    alphabet = [chr(code) for code in (*range(32, 127), *range(0xC0, 0x180), *range(0x300, 0x370), 0x1E9E, 0xFB01)]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    for text in texts:
        assert fold(text) == textbook_fold(text), text
