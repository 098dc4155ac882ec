"""Security (issue 13): every response, /docs included, sets Cache-Control:
no-store, X-Content-Type-Options, a Content-Security-Policy with frame-ancestors."""


def test_every_response_carries_the_security_headers(network, anonymous, admin):
    responses = {
        "token": anonymous.post("/v1/auth/token", json={"email": "admin@e2e.example",
                                                        "password": "e2e-admin-password"}),
        "api": admin.get("/v1/organisations"), "problem": anonymous.get("/v1/nothing"),
        "health": anonymous.get("/health"), "docs": anonymous.get("/docs"),
        "docs asset": anonymous.get("/docs/static/relais-docs.js"),
        "scim": anonymous.get("/scim/v2/ServiceProviderConfig"),
    }
    for name, response in responses.items():
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], name
        assert headers["X-Frame-Options"] == "DENY", name
        if name != "docs asset":
            assert headers["Cache-Control"] == "no-store", name
    assert responses["token"].status_code == 200 and responses["token"].headers["Pragma"] == \
        "no-cache"
    # /docs runs no inline script: its one script is a file of the gateway's.
    assert "<script>" not in responses["docs"].text
    assert "script-src 'self'" in responses["docs"].headers["Content-Security-Policy"]
