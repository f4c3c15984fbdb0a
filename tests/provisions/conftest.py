"""The served champion of the serving tests (a simulated book, trained and registered), for
the provision command's end-to-end test."""

from tests.serving.conftest import served  # noqa: F401  (a fixture, used by name)
