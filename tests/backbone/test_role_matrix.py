"""Walk every operation of the OpenAPI document with every role.

An operation must declare its roles (x-roles) and the guard must enforce them:
a role outside the list gets 403, one inside never gets 401/403, nobody gets a 5xx,
and without a token everything but sign-in is 401. A new endpoint is covered the day
it appears in the document.
"""
import re

import pytest

ROLES = ("agent", "dispatcher", "owner", "admin")
# The only operations anyone may call without a token (a reviewed list):
# signing in, checking a paper agreement's verification code against its terms hash, and
# checking a paper receipt's verification code.
PUBLIC = {("post", "/api/auth/login"), ("get", "/api/agreements/verify"), ("get", "/api/receipts/verify"),
          # the debtor's badge page (R10)
          ("post", "/api/badge/check"), ("post", "/api/badge/confirm"), ("post", "/api/badge/request"),
          ("post", "/api/badge/photo"),  # the agent's portrait, only behind a valid live badge
          ("get", "/api/evidence/public-key")}  # the key that verifies evidence packs (R17)
PLACEHOLDERS = {"flag": "dispute", "sha256": "0" * 64, "op_id": "00000000-0000-4000-8000-000000000000"}


def _operations(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


def _concrete(path):
    return re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDERS.get(m.group(1), "999999"), path)


def test_every_operation_declares_roles(app):
    missing = [f"{m.upper()} {p}" for m, p, op in _operations(app) if (m, p) not in PUBLIC and not op.get("x-roles")]
    assert missing == []
    public = {(m, p) for m, p, op in _operations(app) if op.get("security") == []}
    assert public == PUBLIC


def test_every_operation_needs_a_token(app, client):
    for method, path, _ in _operations(app):
        if (method, path) in PUBLIC:
            continue
        response = client.open(_concrete(path), method=method.upper(), json={})
        assert response.status_code == 401, f"{method.upper()} {path} -> {response.status_code}"
        assert response.get_json()["code"] in ("unauthorized", "token_invalid")


def test_role_matrix(app, client, make_user, make_agent, token_for):
    users = {role: make_user(role=role) for role in ROLES}
    make_agent(user=users["agent"])
    operations = list(_operations(app))
    assert len(operations) >= 20
    checked = 0
    for method, path, operation in operations:
        if (method, path) in PUBLIC:
            continue
        allowed = set(operation["x-roles"])
        for role in ROLES:
            headers = token_for(users[role])
            response = client.open(_concrete(path), method=method.upper(), json={}, headers=headers)
            where = f"{role}: {method.upper()} {path} -> {response.status_code} {response.get_data(as_text=True)[:200]}"
            assert response.status_code < 500, where
            if role in allowed:
                assert response.status_code not in (401, 403), where
            else:
                assert response.status_code == 403, where
            checked += 1
    assert checked == 4 * (len(operations) - len(PUBLIC))
