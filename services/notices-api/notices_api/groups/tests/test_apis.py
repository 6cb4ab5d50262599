import pytest

pytestmark = pytest.mark.django_db

GROUPS = "/api/v1/groups/"


def test_publisher_manages_groups_and_members(client_for, publisher, recipient, make_user):
    api = client_for(publisher)
    created = api.post(GROUPS, {"name": "Night shift"}, format="json")
    assert created.status_code == 201
    group = created.json()
    assert group["member_count"] == 0
    url = f"{GROUPS}{group['id']}/"

    other = make_user("dan")
    added = api.post(
        f"{url}members/", {"user_ids": [str(recipient.id), str(other.id)]}, format="json"
    )
    assert added.json()["member_count"] == 2
    members = api.get(f"{url}members/").json()["results"]
    assert [m["username"] for m in members] == ["bob", "dan"]

    assert api.delete(f"{url}members/{other.id}/").status_code == 204
    assert api.delete(f"{url}members/{other.id}/").status_code == 404
    renamed = api.patch(url, {"name": "Late shift"}, format="json").json()
    assert (renamed["name"], renamed["member_count"]) == ("Late shift", 1)
    assert [g["name"] for g in api.get(GROUPS).json()["results"]] == ["Late shift"]

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_group_names_are_unique(client_for, publisher, group):
    response = client_for(publisher).post(GROUPS, {"name": group.name}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/name"


def test_adding_unknown_users_is_a_field_error(client_for, publisher, group):
    response = client_for(publisher).post(
        f"{GROUPS}{group.id}/members/",
        {"user_ids": ["00000000-0000-7000-8000-000000000000"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/user_ids"


def test_recipients_cannot_see_groups(client_for, recipient, group):
    api = client_for(recipient)
    assert api.get(GROUPS).status_code == 403
    assert api.get(f"{GROUPS}{group.id}/").status_code == 403
