"""The plays pages: each play with its holdout and effect, one play's funnel, the task inbox."""

from __future__ import annotations


def test_the_list_shows_every_packaged_play_with_its_holdout(login, people):
    page = login(people.viewer).get("/plays")
    assert page.status_code == 200 and 'data-nav="plays"' in page.text
    for key in ("red-health-call", "high-risk-renewal", "adoption-nudge"):
        assert f'data-play="{key}"' in page.text and f'href="/plays/{key}"' in page.text
    assert "not measured yet" in page.text  # no run has reached its 90-day goal


def test_a_play_page_draws_its_funnel_and_open_tasks(login, people):
    page = login(people.admin).get("/plays/red-health-call")
    assert page.status_code == 200
    assert 'id="chart-play-funnel"' in page.text and 'id="play-effect"' in page.text
    assert login(people.admin).get("/plays/nope").status_code == 404


def test_the_task_inbox_is_for_staff_who_act(login, people):
    assert login(people.admin).get("/tasks").status_code == 200
    assert login(people.csm).get("/tasks?status=done").status_code == 200
    assert login(people.viewer).get("/tasks").status_code == 403
    assert login(people.admin).get("/tasks?status=lost").status_code == 400
