import pytest

pytestmark = pytest.mark.django_db


def test_admin_list_renders(admin_client, published, group):
    assert admin_client.get("/admin/notices/notice/").status_code == 200
