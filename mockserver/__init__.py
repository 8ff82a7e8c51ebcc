"""mockserver: an offline, stateful, strict mock of the hookstream and Stack AI Connections APIs."""

from ._api import (
    NO_BODY,
    ApiDefinition,
    Behaviour,
    Credential,
    MockResponse,
    OperationContext,
    Principal,
    Problem,
    Reason,
)
from ._app import MockConfig, create_app, discover_apis
from ._clock import ClockSettings, Timeline
from ._resources import package_version
from ._spec import Operation, Spec, SpecError, load_spec
from ._validation import Violation

__version__ = package_version()

__all__ = [
    "NO_BODY",
    "ApiDefinition",
    "Behaviour",
    "ClockSettings",
    "Credential",
    "MockConfig",
    "MockResponse",
    "Operation",
    "OperationContext",
    "Principal",
    "Problem",
    "Reason",
    "Spec",
    "SpecError",
    "Timeline",
    "Violation",
    "__version__",
    "create_app",
    "discover_apis",
    "load_spec",
]
