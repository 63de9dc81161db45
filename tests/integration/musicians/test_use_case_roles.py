"""The musicians area's use cases refuse an actor without the role themselves (not only their
routes), in the words ``accounts.auth.ensure_roles`` uses: the same 403 body either way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from control_plane.accounts.auth import ensure_roles
from control_plane.accounts.models import User
from control_plane.kits.extensions import db
from control_plane.kits.http.problems import ApiProblem, problem_response, refused_problem
from control_plane.musicians.schemas import AvailabilityBody, ProjectBody
from control_plane.musicians.services.profiles import ProfileFields, save_profile
from control_plane.musicians.services.projects import create_project
from control_plane.musicians.services.refusals import MusiciansRefused
from control_plane.musicians.services.roles import MUSICIAN_ROLES, REQUESTER_ROLES
from control_plane.musicians.services.saved_availability import save_availability
from tests.integration.api_helpers import PROJECT, bearer, register

FIELDS = ProfileFields(
    instruments=["Drums"],
    genres=[],
    bio="",
    city="",
    lat=None,
    lon=None,
    rate_amount=None,
    rate_currency="EUR",
    rate_per="session",
    links=[],
    photo_url=None,
)


def _body(problem: ApiProblem) -> object:
    return problem_response(problem).get_json()


def test_use_cases_refuse_an_actor_without_the_role(app: Flask) -> None:
    producer = register(app.test_client(), roles=["producer"])
    musician = register(app.test_client(), roles=["musician"])
    with app.app_context():
        as_producer = db.session.get(User, producer["user"]["id"])
        as_musician = db.session.get(User, musician["user"]["id"])
        assert as_producer is not None and as_musician is not None
        cases = [
            (lambda: save_profile(db.session, as_producer, FIELDS), MUSICIAN_ROLES, "have a musician profile"),
            (
                lambda: save_availability(db.session, as_producer, AvailabilityBody()),
                MUSICIAN_ROLES,
                "set availability",
            ),
            (
                lambda: create_project(
                    db.session, as_musician, ProjectBody.model_validate(PROJECT), datetime(2030, 1, 1, tzinfo=UTC)
                ),
                REQUESTER_ROLES,
                "create projects",
            ),
        ]
        for use_case, roles, action in cases:
            actor = as_producer if roles == MUSICIAN_ROLES else as_musician
            with pytest.raises(MusiciansRefused) as refused:
                use_case()
            with pytest.raises(ApiProblem) as answered:
                ensure_roles(actor, *roles, action=action)
            assert _body(refused_problem(refused.value)) == _body(answered.value)
        db.session.rollback()


def test_the_api_answers_a_missing_role_before_a_bad_body(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    producer = register(client, roles=["producer"])
    refused = client.put("/api/musicians/me", json={"instruments": "not a list"}, headers=bearer(producer))
    assert refused.status_code == 403
    assert refused.get_json() == {
        "type": "/problems/forbidden",
        "code": "forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "Only musicians may have a musician profile",
        "required_roles": ["musician"],
    }
    musician = register(client, roles=["musician"])
    assert client.post("/api/projects", json={}, headers=bearer(musician)).status_code == 403
