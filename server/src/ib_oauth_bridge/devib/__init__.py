"""The IB emulator: a faithful stand-in for IntelligenceBank's browser login and v3 API.

One Starlette app on one port answers as both IB hosts (routing by Host header): the platform host
serves the browser login, the API host serves `/api/3.0.0/...`, and `/_emulator/...` lets tests
steer it. Used by the dev stack, the examples and the tests; never in production.
"""

from .app import create_app
from .config import DemoUser, EmulatorConfig
from .data import generated_bytes, generated_sha256

__all__ = ["DemoUser", "EmulatorConfig", "create_app", "generated_bytes", "generated_sha256"]
