"""The files the package reads at run time, found with `importlib.resources`, never relative to a checkout.

The specs ship as the package `mockserver.spec` (the project's top-level `spec/` folder, mapped by
setup.py), the control plane's own document as `mockserver/control/control.yaml`. A wheel, an sdist and an editable
install find them the same way; `--spec-dir` points at another folder of `<api>.yaml` files.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["bundled_spec_dir", "control_spec", "package_version", "spec_file"]


def package_version() -> str:
    """The installed distribution's version: pyproject.toml's `version` is its only source."""
    try:
        return version("mockserver")
    except PackageNotFoundError:  # imported from a folder that was never installed
        return "0+unknown"


def bundled_spec_dir() -> Traversable:
    return files("mockserver.spec")


def control_spec() -> Traversable:
    return files("mockserver.control") / "control.yaml"


def spec_file(name: str, spec_dir: Path | None = None) -> Traversable:
    """`<name>.yaml` in `spec_dir`, or in the specs shipped with the package when it is None."""
    return (bundled_spec_dir() if spec_dir is None else spec_dir) / f"{name}.yaml"
