"""The OpenAPI documents, shipped inside the package as `mockserver.spec` (see setup.py)."""
