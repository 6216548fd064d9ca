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


@pytest.mark.django_db
def test_database_outage_is_a_503_with_retry_after_not_a_500(client_for, alice):
    from django.db import OperationalError, connection

    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection to server failed: FATAL: sorry, too many clients already")

    client = client_for(alice)
    with connection.execute_wrapper(refuse):
        response = client.get("/api/users/me/")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"] == "1"
