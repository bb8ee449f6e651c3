def test_every_response_carries_the_security_headers(client):
    for url in ("/api/docs", "/api/openapi.json", "/api/cases"):
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in response.headers  # only behind TLS


def test_hsts_behind_tls(client):
    response = client.get("/api/openapi.json", base_url="https://doorstep.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_api_docs_page_is_served_without_inline_scripts(client):
    page = client.get("/api/docs").get_data(as_text=True)
    assert "<script>" not in page and "/api/docs/docs.js" in page
    assert client.get("/api/docs/docs.js").status_code == 200


def test_tile_host_is_allowed_for_images_and_fetches(app):
    from backend import create_app

    config = {k: v for k, v in app.config.items() if k.isupper()}
    config["MAP_TILE_URL"] = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    other = create_app(type("TilesConfig", (), config))
    policy = other.test_client().get("/api/docs").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://*.tiles.example.org;" in policy
    assert "connect-src 'self' https://*.tiles.example.org;" in policy


def test_request_bodies_are_bounded(client, app):
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    response = client.post("/api/auth/login", data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["code"] == "too_large"
