"""The rule language: parsing, precedence, clear errors, compilation to an Ibis filter."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from tenure.errors import InputError
from tenure.metrics.movements import connect_engine
from tenure.segments.rules import (
    And,
    Compare,
    In,
    Not,
    Or,
    RuleError,
    compile_rule,
    parse_rule,
    validate_rule,
)

KNOWN = ["plan", "mrr", "industry", "attributes.tier"]


def test_parses_the_issue_example():
    node = parse_rule('plan in ("pro", "enterprise") and mrr >= 500 and industry = "software"')
    assert node == And(
        (
            In("plan", ("pro", "enterprise"), False, 0),
            Compare("mrr", ">=", 500, 34),
            Compare("industry", "=", "software", 49),
        )
    )


def test_and_binds_tighter_than_or_and_not_tighter_than_and():
    assert parse_rule("mrr > 1 or mrr < 0 and plan = 'x'") == Or(
        (
            Compare("mrr", ">", 1, 0),
            And((Compare("mrr", "<", 0, 11), Compare("plan", "=", "x", 23))),
        )
    )
    assert parse_rule("not mrr > 1 and plan = 'x'") == And(
        (Not(Compare("mrr", ">", 1, 4)), Compare("plan", "=", "x", 16))
    )
    grouped = parse_rule("(mrr > 1 or mrr < 0) and plan = 'x'")
    assert isinstance(grouped, And) and isinstance(grouped.parts[0], Or)


def test_values_keywords_and_not_in():
    node = parse_rule('PLAN NOT IN (\'a\', "b\\"c") AnD mrr != -2.5 and attributes.tier == true')
    assert node.parts[0] == In("PLAN", ("a", 'b"c'), True, 0)
    assert node.parts[1] == Compare("mrr", "!=", -2.5, 30)
    assert node.parts[2] == Compare("attributes.tier", "=", True, 46)


@pytest.mark.parametrize(
    ("rule", "position", "fragment"),
    [
        ("mrr >= ", 8, "expected a value"),
        ("mrr >> 5", 6, "expected a value"),
        ('plan in ("a"', 13, "expected ',' or ')'"),
        ("mrr @ 3", 5, "unexpected character '@'"),
        ("(mrr > 1", 9, "expected ')'"),
        ("mrr > 1 mrr < 2", 9, "expected 'and', 'or'"),
        ("", 1, "expected a condition"),
        ("mrr", 4, "expected a comparison"),
        ("plan not ('a')", 10, "expected 'in'"),
        ("mrr > 1 and", 12, "expected a field name"),
    ],
)
def test_bad_syntax_says_where(rule, position, fragment):
    with pytest.raises(RuleError) as caught:
        parse_rule(rule)
    assert caught.value.position + 1 == position
    assert f"position {position}:" in str(caught.value)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, InputError)


def test_unknown_field_is_named_with_the_known_ones():
    with pytest.raises(RuleError) as caught:
        validate_rule('plan = "pro" and health_tier = "red"', KNOWN)
    message = str(caught.value)
    assert "position 18" in message and "unknown field 'health_tier'" in message
    assert "known fields: attributes.tier, industry, mrr, plan" in message


def _members(rule: str) -> list[int]:
    frame = pa.table(
        {
            "account_id": [1, 2, 3, 4],
            "plan": ["pro", "enterprise", "starter", None],
            "mrr": [600.0, 1000.0, 50.0, 0.0],
            "industry": ["software", "retail", "software", None],
        }
    )
    table = ibis.memtable(frame)
    result = connect_engine().to_pyarrow(table.filter(compile_rule(rule, table)))
    return sorted(result["account_id"].to_pylist())


@pytest.mark.parametrize(
    ("rule", "members"),
    [
        ('plan in ("pro", "enterprise") and mrr >= 500', [1, 2]),
        ('industry = "software" or mrr > 999', [1, 2, 3]),
        ('not industry = "software"', [2, 4]),  # a comparison with NULL is false
        ('industry != "software"', [2]),
        ('plan not in ("pro")', [2, 3]),
        ("mrr < 100 and not (plan = 'starter')", [4]),
        ("mrr <= 50 or mrr = 1000", [2, 3, 4]),
    ],
)
def test_compiled_rules_select_exact_members(rule, members):
    assert _members(rule) == members


@pytest.mark.parametrize(
    ("rule", "value"), [('mrr > "big"', "'big'"), ("plan = 3", "3"), ("mrr in (1, true)", "True")]
)
def test_type_mismatch_is_an_input_error(rule, value):
    with pytest.raises(RuleError, match=rf"holds .* values; cannot compare with {value}"):
        _members(rule)


def _or_terms(count: int) -> str:
    return " or ".join(f"mrr = {i}" for i in range(count))


@pytest.mark.parametrize(
    ("rule", "position", "fragment"),
    [
        (" or ".join(["mrr=1"] * 201), 200 * 9 + 1, "at most 200 comparisons"),
        (_or_terms(1_000), 4_001, "at most 4,000 characters long, this one has 12,886"),
        ("(" * 17 + "mrr > 1" + ")" * 17, 17, "at most 16 levels deep"),
        ("(" * 1_900 + "mrr > 1" + ")" * 1_900, 17, "at most 16 levels deep"),
        ("not " * 900 + "mrr > 1", 65, "at most 16 levels deep"),
        ("not (" * 9 + "mrr > 1" + ")" * 9, 41, "at most 16 levels deep"),
        ("mrr = 1 or " + "x" * 4_000, 4_001, "at most 4,000 characters long, this one has 4,011"),
    ],
)
def test_oversized_rules_are_refused_where_they_cross_the_limit(rule, position, fragment):
    with pytest.raises(RuleError) as caught:
        validate_rule(rule, KNOWN)
    assert caught.value.position + 1 == position and fragment in str(caught.value)
    assert len(str(caught.value)) < 400  # a window of the rule around the position, not all of it


def test_rules_at_the_limits_load_and_select_exact_members():
    assert _members(_or_terms(200).replace("mrr = 0 ", "mrr = 50 ")) == [3]
    nested = "((" + "not (" * 7 + "mrr > 100" + ")" * 9  # 16 levels: 7 nots, 9 parentheses
    assert _members(nested) == [3, 4]
    chain = " and ".join(["mrr >= 0"] * 199 + ["plan = 'pro'"])
    assert _members(chain) == [1]


@pytest.mark.parametrize(
    ("rule", "position", "fragment"),
    [
        ('upper(plan) = "x"', 6, "expected a comparison"),
        ("mrr is null", 5, "expected a comparison"),
        ("mrr between 1 and 2", 5, "got 'between'"),
        ("mrr = 1; drop table account", 8, "unexpected character ';'"),
        ("mrr = 1 -- comment", 9, "unexpected character '-'"),
        ("mrr # 1", 5, "unexpected character '#'"),
        ("mrr = `plan`", 7, "unexpected '`plan`'"),
        ('plan = "open', 8, "unexpected character '\"'"),
        ("mrr <> 1", 5, "unexpected '<>'"),
        ("mrr = 1e3", 7, "unexpected '1e3'"),
        ("plan in (select 1)", 10, "expected a value"),
        ("plan = 'a' || 'b'", 12, "unexpected '||'"),
    ],
)
def test_only_the_rule_language_is_let_through(rule, position, fragment):
    with pytest.raises(RuleError) as caught:
        parse_rule(rule)
    assert caught.value.position + 1 == position
    assert fragment in str(caught.value)


def test_fields_named_like_sql_keywords_and_escapes_keep_their_meaning():
    node = parse_rule('select = 1 and attributes.order = \'a\\nb\' and date != "x\\"y"')
    assert node == And(
        (
            Compare("select", "=", 1, 0),
            Compare("attributes.order", "=", "anb", 15),
            Compare("date", "!=", 'x"y', 45),
        )
    )
    assert parse_rule("not plan not in (1)") == Not(In("plan", (1,), True, 4))
