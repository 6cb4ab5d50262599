from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission

from notices_api.accounts.models import User

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


def _manager_of_all_groups(make_user: Callable[..., User]) -> User:
    manager = make_user("maria", publisher=True)
    manager.user_permissions.add(Permission.objects.get(codename="manage_all_groups"))
    return type(manager).objects.get(pk=manager.pk)  # a fresh instance: no cached permissions


def test_another_publisher_may_not_change_a_group(client_for, other_publisher, group, recipient):
    api = client_for(other_publisher)
    url = f"{GROUPS}{group.id}/"
    refusals = [
        api.patch(url, {"name": "Mine now"}, format="json"),
        api.post(f"{url}members/", {"user_ids": [str(other_publisher.id)]}, format="json"),
        api.delete(f"{url}members/{recipient.id}/"),
        api.delete(url),
    ]
    for response in refusals:
        assert response.status_code == 403
        assert response["Content-Type"].startswith("application/problem+json")
    group.refresh_from_db()
    assert (group.name, list(group.members.all())) == ("Readers", [recipient])
    # Reading and addressing a group stays open to every publisher.
    assert api.get(url).status_code == 200
    assert api.get(f"{url}members/").status_code == 200


def test_a_manager_of_all_groups_may_change_any_group(client_for, make_user, group, recipient):
    api = client_for(_manager_of_all_groups(make_user))
    url = f"{GROUPS}{group.id}/"
    assert api.patch(url, {"name": "Renamed"}, format="json").status_code == 200
    assert api.delete(f"{url}members/{recipient.id}/").status_code == 204
    assert api.delete(url).status_code == 204


def test_a_group_without_owner_is_managed_only_by_managers_of_all_groups(
    client_for, publisher, make_user, group
):
    group.owner = None
    group.save()
    url = f"{GROUPS}{group.id}/"
    assert client_for(publisher).patch(url, {"name": "Ours"}, format="json").status_code == 403
    manager = client_for(_manager_of_all_groups(make_user))
    assert manager.patch(url, {"name": "Ours"}, format="json").status_code == 200
