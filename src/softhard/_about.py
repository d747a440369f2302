"""The package version, in one place (``softhard.__version__`` and every manifest read it here)."""

from importlib.metadata import PackageNotFoundError, version

try:  # stamped from git by setuptools-scm when the package is built (wheel or editable)
    from softhard._version import __version__
except ImportError:  # pragma: no cover - a source tree never built
    try:
        __version__ = version("softhard")
    except PackageNotFoundError:
        __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
