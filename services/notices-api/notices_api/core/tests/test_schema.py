import re

import pytest
import yaml
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_schema_documents_problem_responses_on_every_operation(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 20
    for path, method, operation in operations:
        for status in ("401", "404", "429", "500"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (path, method, status)


def test_swagger_ui_is_served(client):
    assert client.get("/api/docs/").status_code == 200


def test_swagger_ui_loads_nothing_from_another_host(client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert re.findall(r"(?:src|href)=\"(https?:)?//", page) == []
    assert "cdn" not in page.lower()
    for asset in re.findall(r"\"(/static/[^\"]+)\"", page):
        assert finders.find(asset.removeprefix("/static/")), asset
