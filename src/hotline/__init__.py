"""Hotline: an open-source telephone customer-service platform (call center).

The package is layered as ``docs/architecture.md`` describes; the import contracts in
``.importlinter`` enforce the layer table.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hotline")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
