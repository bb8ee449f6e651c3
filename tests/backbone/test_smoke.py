def test_login_and_list_cases(client, make_user, make_case, auth):
    owner = make_user(role="owner")
    make_case()
    response = client.get("/api/cases", headers=auth(owner))
    assert response.status_code == 200
    assert response.get_json()["total"] == 1
