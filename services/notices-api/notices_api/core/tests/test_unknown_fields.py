"""A body field the endpoint does not know is refused, not silently dropped."""

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_a_misspelt_recipient_field_is_refused_by_name(client_for, publisher, recipient):
    response = client_for(publisher).post(
        "/api/v1/notices/",
        {"title": "Typo", "recipient_ids": [str(recipient.id)]},
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"pointer": "#/recipient_ids", "detail": "Unknown field.", "code": "unknown_field"}
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "unknown"),
    [
        ("patch", "/api/v1/me/", {"is_publisher": True}, "is_publisher"),
        ("post", "/api/v1/groups/", {"name": "Readers", "owner": "me"}, "owner"),
    ],
)
def test_write_endpoints_refuse_unknown_fields(client_for, publisher, method, path, body, unknown):
    response = getattr(client_for(publisher), method)(path, body, format="json")
    assert response.status_code == 400
    assert [error["pointer"] for error in response.json()["errors"]] == [f"#/{unknown}"]


def test_token_endpoint_refuses_unknown_fields(client, recipient):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "bob", "password": "x", "otp": "1"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/otp"


def test_schema_says_request_bodies_take_no_other_properties(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    components = schema["components"]["schemas"]
    bodies = [
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for item in schema["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    ]
    assert len(bodies) >= 5
    for ref in bodies:
        assert components[ref.rpartition("/")[2]]["additionalProperties"] is False, ref
