"""Template validation refusals, versions, layouts and partials pinned, MJML, text parts."""

from __future__ import annotations

import re

import pytest
from jinja2.exceptions import UndefinedError
from jinja2.sandbox import SecurityError

from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.errors import InputError
from tenure.messaging import render, templates
from tenure.messaging.schemas import TemplateSpec
from tenure.messaging.validation import TemplateInvalid

CONTEXT = {
    "account": {"name": "Acme & Co", "plan": "growth"},
    "contact": {"name": "Ada Lovelace", "first_name": "Ada"},
    "footer": {"unsubscribe_url": "https://u.example/x?a=1&b=2", "postal_address": "1 Main St"},
}


def spec(name="hello", **fields):
    """Return an email template spec with a subject."""
    values = {"subject": "Hi {{ contact.first_name }}", "body": "<p>Hi {{ contact.name }}</p>"}
    return TemplateSpec(name=name, **(values | fields))


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory):
    """Return one migrated engine for the refusal tests (a refused save writes nothing)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("refusals") / "data")
    engine = get_engine(settings)
    migrate(engine)
    yield engine
    engine.dispose()


def refusal(engine, template):
    """Return the TemplateInvalid a save raises."""
    with session_scope(engine) as session, pytest.raises(TemplateInvalid) as caught:
        templates.save_template(session, template)
    return caught.value


@pytest.mark.parametrize(
    ("fields", "field", "line", "reason"),
    [
        ({"body": "<p>\n{% if x %}\n</p>{% endif %}"}, "body", 2, "unknown variable 'x'"),
        ({"body": "<p>a</p>\n\n{% for a in account.name %}"}, "body", 3, "Unexpected end"),
        ({"body": "<p>\n{{ account.secret }}</p>"}, "body", 2, "unknown variable account.secret"),
        ({"body": "<p>\n\n{{ nobody }}</p>"}, "body", 3, "unknown variable 'nobody'"),
        ({"subject": "Hi\r\nBcc: all@x.io"}, "subject", 1, "CR/LF header injection"),
        ({"preheader": "one\ntwo"}, "preheader", 1, "CR/LF header injection"),
        ({"body": "{{ contact.name | nofilter }}"}, "body", 1, "No filter named 'nofilter'"),
        ({"body": "<p>\n{{ blocks.unknown_block }}</p>"}, "body", 2, "blocks.unknown_block"),
    ],
)
def test_refusals_name_the_line_and_reason(shared_engine, fields, field, line, reason):
    error = refusal(shared_engine, spec(**fields))
    assert (error.field, error.line) == (field, line)
    assert reason in error.reason
    problem = {"loc": f"body.{field}", "msg": f"line {line}: {error.reason}"}
    assert error.errors == [problem | {"type": "template_invalid"}]


@pytest.mark.parametrize(
    "body",
    [
        "{{ contact.name.__class__ }}",
        "{{ contact['__class__'] }}",
        "{{ ''.__class__.__mro__ }}",
        "{% import 'x' as m %}",
        "{% from 'x' import y %}",
        "{% include account.name %}",
    ],
)
def test_sandbox_escapes_are_refused(shared_engine, body):
    error = refusal(shared_engine, spec(body="<p>ok</p>\n" + body))
    assert error.line == 2
    assert "not allowed" in error.reason or "in quotes" in error.reason


def test_the_render_sandbox_blocks_escapes_that_reach_it():
    env = render.sandbox()
    with pytest.raises(SecurityError):
        env.from_string("{{ x.__class__.__mro__ }}").render(x="")
    with pytest.raises(SecurityError):  # immutable: a template cannot change shared variables
        env.from_string("{{ account.update(name='x') }}").render(account={"name": "a"})


def test_strict_undefined_and_versions(engine, frozen_clock):
    with session_scope(engine) as session:
        first = templates.save_template(session, spec())
        same = templates.save_template(session, spec())
        changed = templates.save_template(session, spec(body="<p>Hello {{ contact.name }}</p>"))
        assert (first.created, same.created, changed.created) == (True, False, True)
        assert (first.template.version, same.template.id, changed.template.version) == (
            1,
            first.template.id,
            2,
        )
        with pytest.raises(UndefinedError):
            render.render_template(changed.template, {"contact": {"first_name": "A"}})
        assert [v.version for v in templates.versions(session, "hello")] == [2, 1]
        (row, count), *_ = templates.list_templates(session)
        assert (row.version, count) == (2, 2)


def _layout(body):
    return TemplateSpec(name="shell", kind="layout", body=body)


SHELL_A = "<html><body>A[{% block content %}{% endblock %}]{% include 'foot' %}</body></html>"
SHELL_B = "<html><body>B[{% block content %}{% endblock %}]</body></html>"
PINNED = '{% extends "shell@1" %}{% block content %}x{% endblock %}'


def test_layout_partial_and_version_pinning(any_engine, frozen_clock):
    foot = TemplateSpec(name="foot", kind="partial", body="<p>{{ footer.postal_address }}</p>")
    with session_scope(any_engine) as session:
        templates.save_template(session, foot)
        templates.save_template(session, _layout(SHELL_A))
        v1 = templates.save_template(session, spec(layout="shell")).template
        templates.save_template(session, _layout(SHELL_B))
        html_v1 = render.render_template(v1, CONTEXT).html
        assert "A[<p>Hi Ada Lovelace</p>]" in html_v1 and "<p>1 Main St</p>" in html_v1
        v2 = templates.save_template(session, spec(layout="shell"))  # same fields, newer layout
        assert (v2.created, v2.template.version) == (True, 2)
        assert "B[<p>Hi Ada Lovelace</p>]" in render.render_template(v2.template, CONTEXT).html
        assert "A[" in render.render_template(v1, CONTEXT).html  # v1 stays on layout v1
        pinned = templates.save_template(session, spec(name="old", body=PINNED))
        assert "A[x]" in render.render_template(pinned.template, CONTEXT).html


def test_missing_layout_is_refused_with_its_line(shared_engine):
    error = refusal(shared_engine, spec(body='<p>a</p>\n{% include "nowhere" %}'))
    assert (error.line, error.reason) == (2, "no stored layout or partial 'nowhere'")


def test_mjml_gives_responsive_html_with_inlined_css_and_text(engine, frozen_clock):
    mjml = """<mjml><mj-head><mj-style inline="inline">.note { color: #ff0000; }</mj-style>
    </mj-head><mj-body><mj-section><mj-column>
    <mj-text css-class="note"><p>Hi {{ contact.first_name }} &amp; team</p>
    {% if account.plan %}<ul><li>Plan: {{ account.plan }}</li></ul>{% endif %}
    <a href="{{ footer.unsubscribe_url }}">Unsubscribe</a></mj-text>
    </mj-column></mj-section></mj-body></mjml>"""
    with session_scope(engine) as session:
        row = templates.save_template(session, spec(body=mjml)).template
        assert row.format == "mjml"
        out = render.render_template(row, CONTEXT)
    assert "@media only screen and (min-width:480px)" in out.html  # responsive columns
    assert re.search(r'<td[^>]*class="note"[^>]*style="[^"]*color: #ff0000', out.html)
    assert 'href="https://u.example/x?a=1&amp;b=2"' in out.html
    assert out.text == (
        "Hi Ada & team\n\n- Plan: growth\n\nUnsubscribe (https://u.example/x?a=1&b=2)"
    )
    assert out.subject == "Hi Ada"


def test_text_part_written_by_hand_wins(engine, frozen_clock):
    with session_scope(engine) as session:
        row = templates.save_template(session, spec(text="Plain {{ account.name }}")).template
        assert render.render_template(row, CONTEXT).text == "Plain Acme & Co"


def test_defaults_load_once(engine, frozen_clock):
    with session_scope(engine) as session:
        first = templates.load_defaults(session)
        again = templates.load_defaults(session)
    names = {s.template.name for s in first}
    assert {
        "base",
        "onboarding-welcome",
        "onboarding-first-report",
        "onboarding-invite-team",
    } <= names
    assert {"winback-checkin", "winback-offer"} <= names
    assert all(s.created for s in first) and not any(s.created for s in again)


def test_a_directory_of_toml_files_with_body_files(engine, frozen_clock, tmp_path):
    (tmp_path / "shell.html").write_text(
        "<html><body>{% block content %}{% endblock %}</body></html>"
    )
    (tmp_path / "a_layout.toml").write_text(
        'kind = "layout"\nname = "shell"\nbody_file = "shell.html"\n'
    )
    (tmp_path / "note.toml").write_text(
        'subject = "Note"\nlayout = "shell"\nbody = "<p>{% if blocks.vip %}VIP {% endif %}hi</p>"\n'
        '[[blocks]]\nname = "vip"\nwhen = "account.plan == \'growth\'"\n'
    )
    with session_scope(engine) as session:
        saved = templates.load_path(session, tmp_path)
        assert [(s.template.name, s.template.kind) for s in saved] == [
            ("shell", "layout"),
            ("note", "email"),
        ]
        note = saved[1].template
        assert render.render_template(note, CONTEXT).text == "VIP hi"
        other = CONTEXT | {"account": {"name": "B", "plan": "pro"}}
        assert render.render_template(note, other).text == "hi"
        (tmp_path / "note.toml").write_text(
            (tmp_path / "note.toml").read_text().replace("growth", "pro")
        )
        again = templates.load_path(session, tmp_path)
        assert [(s.template.version, s.created) for s in again] == [(1, False), (2, True)]
    bad = tmp_path / "bad.toml"
    bad.write_text('subject = "x"\nbody = "y"\nkind = "newsletter"\n')
    with (
        session_scope(engine) as session,
        pytest.raises(InputError, match=r"bad\.toml: template .*kind"),
    ):
        templates.load_path(session, bad)


def test_statements_inside_title_and_preview_survive(engine, frozen_clock):
    html = (
        "<html><head><title>{% if account.plan %}{{ account.plan }}{% endif %}</title></head>"
        "<body><p>{% if account.plan %}Plan {{ account.plan }}{% endif %}</p></body></html>"
    )
    mjml = (
        "<mjml><mj-head><mj-preview>{% if account.plan %}On {{ account.plan }}{% endif %}"
        "</mj-preview></mj-head><mj-body><mj-section><mj-column><mj-text>{% if account.plan %}"
        "<p>Hi</p>{% endif %}</mj-text></mj-column></mj-section></mj-body></mjml>"
    )
    with session_scope(engine) as session:
        plain = templates.save_template(session, spec(name="plain", body=html)).template
        rich = templates.save_template(session, spec(name="rich", body=mjml)).template
        out = render.render_template(plain, CONTEXT)
        preview = render.render_template(rich, CONTEXT)
    assert "<title>growth</title>" in out.html and out.text == "Plan growth"
    assert ">On growth</div>" in preview.html and "<!--" not in preview.text
    assert preview.text == "Hi"
