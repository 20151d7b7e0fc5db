"""Run the store contract (``store_contract.py``) on every store in ``STORES``.

Each test there is collected here once per store, through the one
``make_store`` fixture; a new store joins by adding a line to ``STORES``.
"""

from __future__ import annotations

from store_contract import *  # noqa: F403 - the contract's tests and fixtures
