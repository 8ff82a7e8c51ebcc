"""Only what pyproject.toml cannot say: the top-level spec/ folder ships as the package `mockserver.spec`."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["mockserver", "mockserver.*"]), "mockserver.spec"],
    package_dir={"mockserver.spec": "spec"},
)
