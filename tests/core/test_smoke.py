import pytest


@pytest.mark.django_db
def test_health_reports_database_and_redis(anon):
    response = anon.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(anon):
    response = anon.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
