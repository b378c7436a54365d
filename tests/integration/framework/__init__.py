# SPDX-License-Identifier: Apache-2.0
"""Integration-test framework for Clone: see vm.py."""
from .vm import (DEFAULT_TIMEOUT, READY, Clone, ConsoleTimeout, clone_bin,  # noqa: F401
                 newest_kernel, run_clone)
