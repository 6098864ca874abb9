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


def _treated_task(app):
    """Return (account id, task id, owner) of an open task the seeded plays created."""
    import sqlalchemy as sa

    from tenure.db.session import session_scope
    from tenure.plays.models import CsmTask

    with session_scope(app.state.engine) as session:
        task = session.scalars(
            sa.select(CsmTask).where(CsmTask.status == "open").order_by(CsmTask.id)
        ).first()
        assert task is not None, "the seeded plays made no task"
        return task.account_id, task.id, task.owner


def test_the_account_360_shows_its_plays_tasks_and_recommended_play(app, login, people):
    account_id, task_id, owner = _treated_task(app)
    page = login(people.admin).get(f"/accounts/{account_id}")
    assert page.status_code == 200 and 'id="account-plays"' in page.text
    assert 'id="account-play-runs"' in page.text and "treated" in page.text
    assert 'id="account-tasks"' in page.text and 'id="recommended-play"' in page.text
    client = login(people.admin)
    form = {"grant_type": "password", "username": people.admin, "password": people.password}
    bearer = {"Authorization": "Bearer " + client.post("/v1/auth/token", data=form).json()[
        "access_token"]}  # fmt: skip
    api = client.get(f"/v1/accounts/{account_id}/plays", headers=bearer).json()
    assert api["runs"] and api["runs"][0]["arm"] == "treated"
    assert task_id in [t["id"] for t in api["tasks"]]
    if api["recommended"]:  # the seeded book has no ended runs: nothing is measured yet
        assert api["recommended"]["expected_value"] is None and api["recommended"]["reasons"]
    viewer = login(people.viewer).get(f"/accounts/{account_id}").text
    assert 'id="account-plays"' in viewer and 'id="account-tasks"' not in viewer
    assert client.get("/v1/accounts/999999/plays", headers=bearer).status_code == 404
    form = {"grant_type": "password", "username": people.csm, "password": people.password}
    token = client.post("/v1/auth/token", data=form).json()["access_token"]
    seen = client.get(f"/v1/accounts/{account_id}/plays", headers={
        "Authorization": f"Bearer {token}"}).json()["tasks"]  # fmt: skip
    assert all(t["owner"] == people.csm for t in seen)  # a csm sees only their own tasks
    assert (task_id in [t["id"] for t in seen]) == (owner == people.csm)


def test_tasks_are_completed_snoozed_and_assigned_from_the_inbox(app, login, people, csrf):
    _account, task_id, _owner = _treated_task(app)
    admin = login(people.admin)
    token = csrf(admin.get("/tasks").text)
    assert f'action="/tasks/{task_id}/complete"' in admin.get("/tasks").text
    snoozed = admin.post(f"/tasks/{task_id}/snooze", data={"csrf_token": token, "days": "3"},
                         follow_redirects=False)  # fmt: skip
    assert snoozed.status_code == 303
    assert f'data-task="{task_id}"' in admin.get("/tasks?status=snoozed").text
    bad = admin.post(f"/tasks/{task_id}/snooze", data={"csrf_token": token, "days": "99"})
    assert bad.status_code == 409 and "snooze days must be one of" in bad.text
    moved = admin.post(
        f"/tasks/{task_id}/assign",
        data={"csrf_token": token, "owner": people.csm},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    csm = login(people.csm)
    csm_token = csrf(csm.get("/tasks?status=snoozed").text)
    refused = csm.post(f"/tasks/{task_id}/assign", data={"csrf_token": csm_token, "owner": "x@y.z"})
    assert refused.status_code == 403
    done = csm.post(
        f"/tasks/{task_id}/complete",
        follow_redirects=False,
        data={"csrf_token": csm_token, "outcome": "saved", "notes": "renewed"},
    )
    assert done.status_code == 303
    page = csm.get("/tasks?status=done").text
    assert f'data-task="{task_id}"' in page and "saved" in page and "renewed" in page
    assert admin.post(f"/tasks/{task_id}/complete", data={"csrf_token": "nope"}).status_code == 403
    again = admin.post(f"/tasks/{task_id}/complete", data={"csrf_token": token, "outcome": "saved"})
    assert again.status_code == 409
