"""Sessions: logout, the session list, ending one or all others, a password change, the docs.

Every rule through the real endpoints; time is moved by ageing the session
item in the table.
"""

from __future__ import annotations

from tests.helpers.api import PASSWORD, Api, User, body
from tests.helpers.sessions import (
    BAD_CREDENTIALS,
    age_session,
    assert_access_refused,
    assert_invalid_refresh,
    login,
    refresh,
    session_id,
)

# ---------------------------------------------------------------- logout and the session list


def test_logout_ends_the_session_at_once(api: Api, alice: User) -> None:
    tokens = login(api, alice)

    response = api.post("/logout", token=tokens["access_token"])

    assert response.status_code == 204
    assert response.body in (b"", "")
    assert_access_refused(api, tokens["access_token"])
    assert_invalid_refresh(refresh(api, tokens["refresh_token"]))
    assert api.get("/users/me", token=alice.token).status_code == 200  # another session


def test_an_ended_session_is_401_under_chalice_test_client_itself(
    plain_api: Api, api: Api, alice: User
) -> None:
    tokens = login(api, alice)
    api.post("/logout", token=tokens["access_token"])
    response = plain_api.get("/users/me", token=tokens["access_token"])
    assert response.status_code == 401
    assert body(response) == BAD_CREDENTIALS
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_session_list_is_newest_first_and_marks_the_current_one(api: Api, alice: User) -> None:
    phone = login(api, alice, user_agent="Phone/1.0")
    laptop = login(api, alice, user_agent="Laptop/2.0")

    response = api.get("/users/me/sessions", token=phone["access_token"])

    listed = body(response)
    assert response.status_code == 200
    assert [s["id"] for s in listed] == sorted((s["id"] for s in listed), reverse=True)
    assert len(listed) == 3  # the fixture's login too
    assert [s["user_agent"] for s in listed[:2]] == ["Laptop/2.0", "Phone/1.0"]
    assert [s["current"] for s in listed] == [False, True, False]
    assert listed[1]["id"] == session_id(phone["access_token"])
    assert listed[0]["id"] == session_id(laptop["access_token"])
    assert set(listed[0]) == {"id", "created_at", "last_used_at", "user_agent", "current"}
    assert listed[0]["created_at"].endswith("Z")


def test_refreshing_moves_last_used_at(api: Api, alice: User) -> None:
    tokens = login(api, alice)
    sid = session_id(tokens["access_token"])
    before = next(
        s for s in body(api.get("/users/me/sessions", token=alice.token)) if s["id"] == sid
    )
    renewed = body(refresh(api, tokens["refresh_token"]))
    after = next(
        s
        for s in body(api.get("/users/me/sessions", token=renewed["access_token"]))
        if s["id"] == sid
    )
    assert after["last_used_at"] > before["last_used_at"]
    assert after["created_at"] == before["created_at"]


def test_the_list_leaves_out_expired_and_ended_sessions(api: Api, alice: User) -> None:
    expired, ended = login(api, alice), login(api, alice)
    age_session(alice, session_id(expired["access_token"]), expires_at=1)
    api.post("/logout", token=ended["access_token"])

    listed = body(api.get("/users/me/sessions", token=alice.token))

    assert [s["id"] for s in listed] == [session_id(alice.token)]


# ---------------------------------------------------------------- ending sessions


def test_ending_one_of_my_sessions(api: Api, alice: User) -> None:
    lost_phone = login(api, alice)

    response = api.delete(
        f"/users/me/sessions/{session_id(lost_phone['access_token'])}", token=alice.token
    )

    assert response.status_code == 204
    assert_access_refused(api, lost_phone["access_token"])
    assert_invalid_refresh(refresh(api, lost_phone["refresh_token"]))
    assert api.get("/users/me", token=alice.token).status_code == 200


def test_another_users_session_is_not_found_and_keeps_working(
    api: Api, alice: User, bob: User
) -> None:
    response = api.delete(f"/users/me/sessions/{session_id(bob.token)}", token=alice.token)
    assert response.status_code == 404
    assert body(response) == {"detail": "Session not found"}
    assert api.get("/users/me", token=bob.token).status_code == 200


def test_ending_an_unknown_or_already_ended_session_is_404(api: Api, alice: User) -> None:
    other = login(api, alice)
    path = f"/users/me/sessions/{session_id(other['access_token'])}"
    assert api.delete(path, token=alice.token).status_code == 204
    again = api.delete(path, token=alice.token)
    assert again.status_code == 404
    assert body(again) == {"detail": "Session not found"}
    unknown = api.delete("/users/me/sessions/12345", token=alice.token)
    assert (unknown.status_code, body(unknown)) == (404, {"detail": "Session not found"})


def test_a_bad_session_id_is_422(api: Api, alice: User) -> None:
    response = api.delete("/users/me/sessions/abc", token=alice.token)
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == ["path", "session_id"]


def test_ending_all_my_other_sessions_keeps_the_current_one(
    api: Api, alice: User, bob: User
) -> None:
    others = [login(api, alice) for _ in range(3)]

    response = api.delete("/users/me/sessions", token=alice.token)

    assert response.status_code == 204
    for tokens in others:
        assert_access_refused(api, tokens["access_token"])
        assert_invalid_refresh(refresh(api, tokens["refresh_token"]))
    assert [s["id"] for s in body(api.get("/users/me/sessions", token=alice.token))] == [
        session_id(alice.token)
    ]
    assert api.get("/users/me", token=bob.token).status_code == 200


def test_ending_more_sessions_than_one_batch_holds(api: Api, alice: User) -> None:
    for _ in range(30):
        login(api, alice)

    assert api.delete("/users/me/sessions", token=alice.token).status_code == 204

    assert [s["id"] for s in body(api.get("/users/me/sessions", token=alice.token))] == [
        session_id(alice.token)
    ]


def test_a_password_change_ends_every_other_session_but_not_the_callers(
    api: Api, alice: User
) -> None:
    other = login(api, alice)
    change = {"current_password": PASSWORD, "new_password": "a brand new secret"}

    response = api.put("/users/me/password", change, token=alice.token)

    assert response.status_code == 200
    assert_access_refused(api, other["access_token"])
    assert_invalid_refresh(refresh(api, other["refresh_token"]))
    assert body(api.get("/users/me", token=alice.token))["id"] == alice.id


def test_a_refused_password_change_ends_nothing(api: Api, alice: User) -> None:
    other = login(api, alice)
    change = {"current_password": "not the password", "new_password": "a brand new secret"}
    response = api.put("/users/me/password", change, token=alice.token)
    assert response.status_code == 400
    assert body(response) == {"detail": "Current password is incorrect"}
    assert api.get("/users/me", token=other["access_token"]).status_code == 200


# ---------------------------------------------------------------- the API docs


def test_the_openapi_document_describes_the_session_operations(api: Api) -> None:
    document = body(api.get("/openapi.json"))
    paths = document["paths"]
    refresh_operation = paths["/token/refresh"]["post"]
    assert set(refresh_operation["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert "security" not in refresh_operation
    assert "401" in refresh_operation["responses"]
    for path, method, success in [
        ("/logout", "post", "204"),
        ("/users/me/sessions", "get", "200"),
        ("/users/me/sessions", "delete", "204"),
        ("/users/me/sessions/{session_id}", "delete", "204"),
    ]:
        operation = paths[path][method]
        assert operation["security"] == [{"OAuth2PasswordBearer": []}], path
        assert {success, "401"} <= set(operation["responses"]), path
    assert "404" in paths["/users/me/sessions/{session_id}"]["delete"]["responses"]
    flow = document["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]
    assert (flow["tokenUrl"], flow["refreshUrl"]) == ("/login", "/token/refresh")
