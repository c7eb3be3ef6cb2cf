"""Dynamic scripts ("Script Dinâmico"): the shape of their questions, and the answers of an operation.

A script's questions are ordered; the agent starts at the first. After an answer, the branch on
that answer says where to go (another question's key, or the end); failing that, the question's
"otherwise" branch (one without an answer), which also applies when the question is left
unanswered; failing that, the next question in order follows (or the end, after the last). A
required question on that path must be answered; an answer to a question off the path (a branch
skipped it) is refused, so what is recorded is exactly what the agent was asked.

Branches jump forward only: a jump back (or to the question itself) would come round again through
the questions in between, a loop, so it is refused as BRANCH_CYCLE when the script is saved.

Answers travel as text and are kept as text, normalised per type: NUMBER as a plain decimal
("1.50" -> "1.5"), DATE as ISO (YYYY-MM-DD), YES_NO as YES or NO, CHOICE as one of the options,
TEXT trimmed. A blank answer counts as no answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from models.outbound import Script
from resolvers.errors import CatalogError, CatalogErrorCode, OperationError, OperationErrorCode

MAX_QUESTIONS = 100
MAX_OPTIONS = 50
MAX_PROMPT = 1000
MAX_OPTION = 200
MAX_ANSWER = 2000
MAX_DIGITS = 30
MAX_BRANCHES = 50
KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


class AnswerType(str, Enum):
    TEXT = "TEXT"
    CHOICE = "CHOICE"
    NUMBER = "NUMBER"
    DATE = "DATE"
    YES_NO = "YES_NO"


@dataclass(frozen=True)
class BranchInput:
    answer: str | None  # None: any other answer, or none ("otherwise")
    go_to: str | None  # a question's key; None ends the script


@dataclass(frozen=True)
class QuestionInput:
    key: str
    prompt: str
    type: AnswerType
    required: bool = False
    options: list[str] | None = None
    branches: list[BranchInput] | None = None


class NotValid(ValueError):
    """An answer that does not fit its question's type (the message says why)."""


def normalise(kind: AnswerType, options: list[str], raw: str) -> str:
    """The answer as it is kept and compared; NotValid when it does not fit the type."""
    value = raw.strip()
    if len(value) > MAX_ANSWER:
        raise NotValid(f"An answer holds {MAX_ANSWER} characters.")
    if kind == AnswerType.NUMBER:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise NotValid("A number is expected (digits, with a point for decimals).") from None
        # An exponent (1e999999999) would write out as that many digits.
        if not number.is_finite() or not -MAX_DIGITS <= number.adjusted() <= MAX_DIGITS:
            raise NotValid(f"A number is expected (digits, with a point for decimals; up to {MAX_DIGITS} digits).")
        text = format(number.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    if kind == AnswerType.DATE:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise NotValid("A date is expected, as YYYY-MM-DD.") from None
    if kind == AnswerType.YES_NO:
        upper = value.upper()
        if upper not in ("YES", "NO"):
            raise NotValid("YES or NO is expected.")
        return upper
    if kind == AnswerType.CHOICE and value not in options:
        raise NotValid("One of the question's options is expected.")
    return value


def _catalog_error(code: CatalogErrorCode, message: str, field: str) -> CatalogError:
    return CatalogError(code, message, field)


def clean_questions(questions: list[QuestionInput]) -> list[dict[str, Any]]:
    """The questions as stored on the script, or the first CatalogError (field: questions[i]…)."""
    if len(questions) > MAX_QUESTIONS:
        raise _catalog_error(CatalogErrorCode.TOO_MANY_QUESTIONS, f"At most {MAX_QUESTIONS} questions.", "questions")
    positions: dict[str, int] = {}
    for index, question in enumerate(questions):
        field = f"questions[{index}].key"
        if not KEY.match(question.key):
            raise _catalog_error(
                CatalogErrorCode.INVALID_QUESTION_KEY,
                "A key starts with a letter and has up to 40 letters, digits or underscores.", field,
            )
        if question.key in positions:
            raise _catalog_error(
                CatalogErrorCode.DUPLICATE_QUESTION_KEY, f"Two questions have the key {question.key}.", field
            )
        positions[question.key] = index
    cleaned = []
    for index, question in enumerate(questions):
        at = f"questions[{index}]"
        prompt = question.prompt.strip()
        if not prompt or len(prompt) > MAX_PROMPT:
            raise _catalog_error(CatalogErrorCode.INVALID, f"A prompt has 1 to {MAX_PROMPT} characters.", f"{at}.prompt")
        options = [option.strip() for option in question.options or []]
        if question.type == AnswerType.CHOICE:
            if not options:
                raise _catalog_error(
                    CatalogErrorCode.CHOICE_WITHOUT_OPTIONS, "A CHOICE question needs options.", f"{at}.options"
                )
            if len(options) > MAX_OPTIONS or any(not option or len(option) > MAX_OPTION for option in options):
                raise _catalog_error(
                    CatalogErrorCode.INVALID,
                    f"At most {MAX_OPTIONS} options of 1 to {MAX_OPTION} characters.", f"{at}.options",
                )
            if len(set(options)) != len(options):
                raise _catalog_error(CatalogErrorCode.DUPLICATE_OPTION, "Options must differ.", f"{at}.options")
        elif options:
            raise _catalog_error(
                CatalogErrorCode.OPTIONS_NOT_ALLOWED, "Only a CHOICE question has options.", f"{at}.options"
            )
        if len(question.branches or []) > MAX_BRANCHES:
            raise _catalog_error(CatalogErrorCode.INVALID, f"At most {MAX_BRANCHES} branches.", f"{at}.branches")
        branches = []
        seen: set[str | None] = set()
        for number, branch in enumerate(question.branches or []):
            where = f"{at}.branches[{number}]"
            answer: str | None = None
            if branch.answer is not None:
                try:
                    answer = normalise(question.type, options, branch.answer)
                except NotValid as error:
                    raise _catalog_error(
                        CatalogErrorCode.INVALID_BRANCH_ANSWER, str(error), f"{where}.answer"
                    ) from None
                if not answer:
                    raise _catalog_error(
                        CatalogErrorCode.INVALID_BRANCH_ANSWER, "A branch's answer is not blank (null: otherwise).",
                        f"{where}.answer",
                    )
            if answer in seen:
                raise _catalog_error(
                    CatalogErrorCode.DUPLICATE_BRANCH,
                    f"Two branches on the answer {answer}." if answer else "Two otherwise branches.", f"{where}.answer",
                )
            seen.add(answer)
            if branch.go_to is not None:
                target = positions.get(branch.go_to)
                if target is None:
                    raise _catalog_error(
                        CatalogErrorCode.UNKNOWN_BRANCH_TARGET, f"No question has the key {branch.go_to}.",
                        f"{where}.goTo",
                    )
                if target <= index:
                    raise _catalog_error(
                        CatalogErrorCode.BRANCH_CYCLE,
                        f"{question.key} would go back to {branch.go_to} and loop: branches go forward.",
                        f"{where}.goTo",
                    )
            branches.append({"answer": answer, "go_to": branch.go_to})
        cleaned.append({
            "key": question.key, "prompt": prompt, "type": question.type.value, "required": question.required,
            "options": options, "branches": branches,
        })
    return cleaned


@dataclass(frozen=True)
class Answer:
    position: int
    key: str
    prompt: str
    type: str
    value: str


def _answer_error(code: OperationErrorCode, message: str, key: str) -> OperationError:
    return OperationError(code, message, f"scriptAnswers.{key}")


def check_answers(script: Script, given: list[tuple[str, str]]) -> list[Answer]:
    """The answers to record, in question order, after following the script's path; or the first
    OperationError, whose field is scriptAnswers.<the question's key>."""
    questions: list[dict[str, Any]] = script.questions or []
    index_of = {question["key"]: index for index, question in enumerate(questions)}
    answers: dict[str, str] = {}
    if len(given) > MAX_QUESTIONS:
        raise OperationError(OperationErrorCode.INVALID, f"At most {MAX_QUESTIONS} answers.", "scriptAnswers")
    for key, value in given:
        if key not in index_of:
            raise _answer_error(OperationErrorCode.UNKNOWN_QUESTION, f"The script has no question {key}.", key)
        if key in answers:
            raise _answer_error(OperationErrorCode.DUPLICATE_ANSWER, f"{key} is answered twice.", key)
        answers[key] = value
    recorded: list[Answer] = []
    on_path: set[str] = set()
    index: int | None = 0 if questions else None
    while index is not None and index < len(questions):
        question = questions[index]
        key = question["key"]
        on_path.add(key)
        raw = answers.get(key, "")
        value: str | None = None
        if raw.strip():
            try:
                value = normalise(AnswerType(question["type"]), question["options"], raw)
            except NotValid as error:
                raise _answer_error(OperationErrorCode.INVALID_ANSWER, f"{key}: {error}", key) from None
            recorded.append(Answer(index, key, question["prompt"], question["type"], value))
        elif question["required"]:
            raise _answer_error(OperationErrorCode.ANSWER_REQUIRED, f"{key} is required on this path.", key)
        branches = {branch["answer"]: branch["go_to"] for branch in question["branches"]}
        if value is not None and value in branches:
            index = None if branches[value] is None else index_of[branches[value]]
        elif None in branches:
            index = None if branches[None] is None else index_of[branches[None]]
        else:
            index += 1
    for key, value in answers.items():
        if key not in on_path and value.strip():
            raise _answer_error(
                OperationErrorCode.QUESTION_SKIPPED, f"The answers given skip {key}: it was not asked.", key
            )
    return recorded
