"""Where a segment rule leaves the grammar: sqlglot's tokens, checked in one flat pass.

The check is a small state machine over the tokens (no recursion), so it says where a rule
goes wrong in the rule language's own words, and it enforces the size limits before anything
builds a tree: at most MAX_RULE_LENGTH characters, MAX_CONDITIONS comparisons and MAX_DEPTH
levels of `not` and parentheses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from sqlglot import tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token as SqlToken
from sqlglot.tokens import TokenType

from tenure.errors import InputError

MAX_RULE_LENGTH = 4_000
MAX_CONDITIONS = 200
MAX_DEPTH = 16
KEYWORDS = frozenset(("and", "or", "not", "in", "true", "false"))
OPERATORS = frozenset(("=", "==", "!=", "<", "<=", ">", ">="))
VALUE = "a value (a quoted string, a number, true or false)"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NUMBER = re.compile(r"\d+(?:\.\d+)?\Z")
_DOT = re.compile(r"\.\Z")
_STRING_OR_QUOTE = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|["'`]""")
_SHOWN = 60  # characters of a long rule shown either side of an error


class RuleError(InputError):
    """A rule cannot be parsed or refers to an unknown field; says where."""

    def __init__(self, message: str, rule: str, position: int) -> None:
        self.position = position
        start = max(0, position - _SHOWN) if len(rule) > 2 * _SHOWN else 0
        shown = rule[start : position + _SHOWN] if len(rule) > 2 * _SHOWN else rule
        lead = "…" if start else ""
        pointer = f"\n  {lead}{shown}\n  {' ' * (len(lead) + position - start)}^"
        super().__init__(f"rule error at position {position + 1}: {message}{pointer}")


class RuleDialect(Dialect):
    """sqlglot dialect of rules: '…' and "…" are strings with backslash escapes, no comments.

    A backslash keeps the next character as it is (`\\n` is `n`), as the rule language always did.
    """

    UNESCAPED_SEQUENCES: ClassVar[dict[str, str]] = {f"\\{c}": c for c in "abfnrtv"}

    class Tokenizer(tokens.Tokenizer):
        QUOTES: ClassVar[list[str]] = ["'", '"']
        STRING_ESCAPES: ClassVar[list[str]] = ["\\"]
        IDENTIFIERS: ClassVar[list[str]] = ["`"]
        COMMENTS: ClassVar[list[str]] = []


@dataclass(frozen=True)
class RuleToken:
    """One token of a rule: its kind, source text, offset and the sqlglot token to parse."""

    kind: str  # word, keyword, string, number, op, punct or end
    text: str
    position: int
    token: SqlToken | None


def _sql_token(kind: TokenType, text: str, start: int) -> SqlToken:
    return SqlToken(kind, text, col=start + len(text), start=start, end=start + len(text) - 1)


def _unterminated(rule: str) -> int:
    """Return the offset of the first quote that opens no complete string."""
    for match in _STRING_OR_QUOTE.finditer(rule):
        if match.group(1) is None:
            return match.start()
    return max(len(rule) - 1, 0)


def _sqlglot_tokens(rule: str) -> list[SqlToken]:
    if len(rule) > MAX_RULE_LENGTH:
        message = f"a rule may be at most {MAX_RULE_LENGTH:,} characters long, this one has "
        raise RuleError(f"{message}{len(rule):,}", rule, MAX_RULE_LENGTH)
    try:
        return RuleDialect().tokenize(rule)
    except TokenError:
        position = _unterminated(rule)
        raise RuleError(f"unexpected character {rule[position]!r}", rule, position) from None


def _classify(rule: str, token: SqlToken) -> str:
    """Return the rule-language kind of a sqlglot token, or raise RuleError at it."""
    source = rule[token.start : token.end + 1]
    if source.lower() in KEYWORDS:
        return "keyword"
    if token.token_type == TokenType.STRING:
        return "string"
    if token.token_type == TokenType.NUMBER and _NUMBER.match(source):
        return "number"
    if source in OPERATORS:
        return "op"
    if source in ("(", ")", ","):
        return "punct"
    if _WORD.match(source):
        return "word"
    if source in (".", "-"):
        return source
    what = f"character {source!r}" if len(source) == 1 else repr(source)
    raise RuleError(f"unexpected {what}", rule, token.start)


def _glued(rule: str, found: list[SqlToken], index: int, follows: re.Pattern[str]) -> bool:
    """Tell whether token index+1 starts right after token index and its text matches follows."""
    if index + 1 >= len(found) or found[index + 1].start != found[index].end + 1:
        return False
    return follows.match(rule[found[index + 1].start : found[index + 1].end + 1]) is not None


def lex_rule(rule: str) -> list[RuleToken]:
    """Return a rule's tokens: dotted fields (a.b) and signed numbers (-2.5) are one token each."""
    found, merged, index = _sqlglot_tokens(rule), [], 0
    while index < len(found):
        first, kind = found[index], _classify(rule, found[index])
        while kind == "word" and _glued(rule, found, index, _DOT):
            if not _glued(rule, found, index + 1, _WORD):
                break
            index += 2
        if kind == "-" and _glued(rule, found, index, _NUMBER):
            kind, index = "number", index + 1
        if kind in (".", "-"):
            raise RuleError(f"unexpected character {kind!r}", rule, first.start)
        text = rule[first.start : found[index].end + 1]
        merged.append(RuleToken(kind, text, first.start, _parsed_token(kind, text, first)))
        index += 1
    merged.append(RuleToken("end", "", len(rule), None))
    return merged


def _parsed_token(kind: str, text: str, first: SqlToken) -> SqlToken:
    """Return the sqlglot token to parse: one VAR per field, one NUMBER per signed number."""
    if kind == "word":
        return _sql_token(TokenType.VAR, text, first.start)
    if kind == "number":
        return _sql_token(TokenType.NUMBER, text, first.start)
    return first


class _Grammar:
    """The rule grammar as a state machine over tokens, with a stack for `not` and '('."""

    EXPECTED: ClassVar[dict[str, str]] = {
        "condition": "a field name, 'not' or '('",
        "operator": "a comparison (=, !=, <, <=, >, >=, in)",
        "in": "'in'",
        "list": "'(' after 'in'",
        "value": VALUE,
        "item": VALUE,
        "next": "',' or ')'",
    }

    def __init__(self, rule: str) -> None:
        self.rule, self.state, self.stack = rule, "condition", []
        self.conditions, self.field, self.negated = 0, 0, set()

    def fail(self, token: RuleToken, expected: str | None = None) -> RuleError:
        got = "the end of the rule" if token.kind == "end" else repr(token.text)
        expected = expected or self.EXPECTED.get(self.state) or self.after_expected()
        return RuleError(f"expected {expected}, got {got}", self.rule, token.position)

    def after_expected(self) -> str:
        return "')'" if "(" in self.stack else "'and', 'or' or the end of the rule"

    def feed(self, token: RuleToken) -> None:
        step = getattr(self, f"_{self.state}")
        state = step(token, token.text.lower() if token.kind in ("keyword", "punct") else None)
        if state is None:
            raise self.fail(token)
        self.state = state

    def push(self, token: RuleToken, item: str) -> str:
        if len(self.stack) >= MAX_DEPTH:
            message = f"a rule may nest 'not' and parentheses at most {MAX_DEPTH} levels deep"
            raise RuleError(message, self.rule, token.position)
        self.stack.append(item)
        return "condition"

    def close(self) -> str:
        while self.stack and self.stack[-1] == "not":
            self.stack.pop()
        return "after"

    def _condition(self, token: RuleToken, word: str | None) -> str | None:
        if token.kind == "word":
            self.conditions, self.field = self.conditions + 1, token.position
            if self.conditions > MAX_CONDITIONS:
                message = f"a rule may hold at most {MAX_CONDITIONS} comparisons; split it up"
                raise RuleError(message, self.rule, token.position)
            return "operator"
        if word in ("not", "("):
            return self.push(token, word)
        return None

    def _operator(self, token: RuleToken, word: str | None) -> str | None:
        if token.kind == "op":
            return "value"
        return {"not": "in", "in": "list"}.get(word or "")

    def _in(self, token: RuleToken, word: str | None) -> str | None:
        if word != "in":
            return None
        self.negated.add(self.field)
        return "list"

    def _list(self, token: RuleToken, word: str | None) -> str | None:
        return "item" if word == "(" else None

    def _value(self, token: RuleToken, word: str | None) -> str | None:
        return self.close() if is_value(token) else None

    def _item(self, token: RuleToken, word: str | None) -> str | None:
        return "next" if is_value(token) else None

    def _next(self, token: RuleToken, word: str | None) -> str | None:
        if word == ",":
            return "item"
        return self.close() if word == ")" else None

    def _after(self, token: RuleToken, word: str | None) -> str | None:
        if word in ("and", "or"):
            return "condition"
        if word == ")" and "(" in self.stack:
            self.stack.pop()
            return self.close()
        if token.kind == "end" and "(" not in self.stack:
            return "done"
        return None


def is_value(token: RuleToken) -> bool:
    """Tell whether a token is a literal value: a string, a number, true or false."""
    if token.kind == "keyword":
        return token.text.lower() in ("true", "false")
    return token.kind in ("string", "number")


def check_grammar(rule: str, found: list[RuleToken]) -> set[int]:
    """Raise RuleError where a rule leaves the grammar or its limits; return `not in` fields.

    The returned offsets are those of fields written `FIELD not in (…)`, which sqlglot parses
    like `not FIELD in (…)` although a missing value makes the two differ.
    """
    if found[0].kind == "end":
        raise RuleError("expected a condition, got the end of the rule", rule, 0)
    grammar = _Grammar(rule)
    for token in found:
        grammar.feed(token)
    return grammar.negated
