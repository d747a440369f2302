import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own teacher cache, never the user's ~/.cache/softhard."""
    monkeypatch.setenv("SOFTHARD_CACHE", str(tmp_path_factory.mktemp("cache")))
