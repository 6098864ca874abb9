"""TENURE_WAREHOUSE_URL: spark://MASTER?events=PATH parses, and mistakes say what is wrong."""

from __future__ import annotations

import pytest

from tenure.config import Settings
from tenure.errors import ConfigError
from tenure.warehouse.spark import parse_url, shuffle_partitions, uses_spark


def test_local_and_standalone_masters() -> None:
    local = parse_url("spark://local[2]?events=/data/events")
    assert (local.master, local.events) == ("local[2]", "/data/events")
    cluster = parse_url("spark://spark-master:7077?events=s3a%3A//bucket/events")
    assert (cluster.master, cluster.events) == ("spark://spark-master:7077", "s3a://bucket/events")
    assert parse_url("spark://yarn?events=hdfs:///events").master == "yarn"


@pytest.mark.parametrize(
    ("url", "message"),
    [("duckdb:///x", "not spark://"), ("spark://local[2]?mode=1", "no events=PATH")],
)
def test_bad_urls_name_the_problem(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_url(url)


def test_setting_selects_spark(tmp_path) -> None:
    assert not uses_spark(Settings(data_dir=tmp_path))
    assert uses_spark(Settings(data_dir=tmp_path, warehouse_url="spark://local[2]?events=/e"))
    assert shuffle_partitions("local[2]") == 2
    assert shuffle_partitions("yarn") == 200
