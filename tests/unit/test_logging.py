"""Log records carry call/queue/agent context as fields in both renderings."""

import json
import logging

import pytest
import structlog

from hotline.logging_config import configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.contextvars.clear_contextvars()


def test_json_lines_carry_extra_and_bound_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    structlog.contextvars.bind_contextvars(call_id="c-42")
    logging.getLogger("hotline.acd").info("offered", extra={"queue": "sales", "agent": "1001"})
    logging.getLogger("hotline.acd").debug("not shown at INFO")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "offered"
    assert record["level"] == "info"
    assert record["logger"] == "hotline.acd"
    assert (record["call_id"], record["queue"], record["agent"]) == ("c-42", "sales", "1001")
    assert record["timestamp"].endswith("Z")


def test_console_lines_are_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("console", "INFO")
    logging.getLogger("hotline.calls").warning("trunk down", extra={"trunk": "carrier-a"})
    line = capsys.readouterr().err
    assert "trunk down" in line
    assert "trunk=carrier-a" in line
    assert not line.lstrip().startswith("{")


def test_exceptions_are_kept_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("hotline").exception("failed")
    record = json.loads(capsys.readouterr().err)
    assert "RuntimeError: boom" in record["exception"]
