"""What the database cannot hold is refused at the door with a 422 per field (or a 404 for an
id no INTEGER column can hold) — found by tests/fuzz, where it was a 500 on SQLite or PostgreSQL."""
import pytest


@pytest.fixture
def admin_headers(make_user, auth):
    return auth(make_user(role="admin"))


def test_an_id_past_32_bits_in_the_path_is_not_found(client, admin_headers):
    response = client.get("/api/cases/2147483648", headers=admin_headers)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert client.get("/api/cases/2147483647", headers=admin_headers).status_code == 404


def test_the_path_parameter_says_its_range_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    param = spec["paths"]["/api/cases/{case_id}"]["parameters"][0]
    assert param["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


@pytest.mark.parametrize("query, field", [
    ("owner_id=-65311679345", "owner_id"),              # PostgreSQL: integer out of range
    ("page=174286093577562292224", "page"),              # SQLite: larger than 64 bits
])
def test_an_id_or_page_out_of_range_in_the_query_is_a_field_error(client, admin_headers, query, field):
    response = client.get(f"/api/cases?{query}", headers=admin_headers)
    assert response.status_code == 422, response.get_json()
    assert "out of range" in response.get_json()["errors"][field][0]


def test_nul_and_lone_surrogates_in_text_are_field_errors(client, admin_headers):
    response = client.get("/api/payments?reference=a%00b", headers=admin_headers)
    assert response.status_code == 422 and "reference" in response.get_json()["errors"]
    response = client.post("/api/policy/notes/review", data=b'{"text": "half \\ud800 a pair"}',
                           headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 422 and "text" in response.get_json()["errors"]


def test_a_list_of_ids_is_checked_item_by_item(client, admin_headers):
    response = client.post("/api/route-plans", json={"date": "2030-01-15", "agent_ids": [1, 2**40]},
                           headers=admin_headers)
    assert response.status_code == 422 and "out of range" in response.get_json()["errors"]["agent_ids"][0]


def test_free_form_content_is_checked_too(client, admin_headers):
    """Inside a Dict field (plan terms; a sync batch's op payloads, docs/sync.md) the same limits
    hold, ids by their key's name: PostgreSQL would refuse them with an error, not a field message."""
    response = client.post("/api/policy/plans/check", json={"case_id": 1, "terms": {"note": "a\u0000b"}},
                           headers=admin_headers)
    assert response.status_code == 422 and "terms" in response.get_json()["errors"]
    response = client.post("/api/policy/plans/check", json={"case_id": 1, "terms": {"plan_id": 2**40}},
                           headers=admin_headers)
    assert response.status_code == 422 and "out of range" in response.get_json()["errors"]["terms"][0]
