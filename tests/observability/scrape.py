"""Reading Prometheus' text format back, with prometheus_client's own parser."""

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, frozenset of label items): value} of one scrape."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (sample, items), v in scraped.items() if sample == name and wanted <= items)


def moved(
    before: dict[tuple[str, frozenset], float], after: dict[tuple[str, frozenset], float], name: str, **labels: str
) -> float:
    """How much `name` (with `labels`) grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)
