"""Logging for the whole process: stdlib ``logging`` in the code, structlog for rendering.

Code everywhere logs with ``logging.getLogger(__name__)`` and passes context as fields,
``log.info("offered", extra={"call_id": c, "queue": q, "agent": a})``, or binds them for a
task with :func:`structlog.contextvars.bind_contextvars`. Here those records become one JSON
object per line (``serve``: for log shippers) or a readable line (``demo``: for people).
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog
from structlog.typing import Processor


def _drop_color_message(
    logger: object, method_name: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    # uvicorn attaches an ANSI-coloured copy of each message as an extra field.
    event_dict.pop("color_message", None)
    return event_dict


def configure_logging(format: Literal["json", "console"] = "json", level: str = "INFO") -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if format == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn installs its own handlers unless told otherwise; route it through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
