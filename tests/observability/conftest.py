import pytest

METRICS_TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def metrics_on(settings) -> str:
    settings.METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


@pytest.fixture
def scrape(anon, metrics_on):
    """`scrape()`: this process's /metrics, parsed (tests.observability.scrape.samples)."""
    from tests.observability.scrape import samples

    def read() -> dict:
        response = anon.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_on}")
        assert response.status_code == 200, response.content
        return samples(response.content.decode())

    return read
