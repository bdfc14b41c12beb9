"""uvicorn's access log lines, as the service leaves them."""

import logging

import pytest

from offers.identity import customer_key


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/v1/click/jane.doe%40shop.example", id="percent-encoded-in-the-path"),
        pytest.param("/v1/report?since=jane.doe@shop.example", id="in-the-query"),
    ],
)
def test_the_access_log_writes_an_email_as_its_digest(client, path, caplog):
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):  # as uvicorn logs a request
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 400)

    [line] = [record.getMessage() for record in caplog.records]
    assert "jane.doe" not in line
    assert customer_key("jane.doe@shop.example") in line
    assert line.startswith('127.0.0.1:5000 - "GET /v1/')
