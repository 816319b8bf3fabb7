import os
import platform
import re

import pytest

from warden_tools import allocator
from warden_tools.paths import REPO


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the settings are glibc's")
def test_glibc_accepts_every_setting():
    assert allocator.retain_allocator_memory() is True


def test_the_settings_are_the_c_shims():
    """Python measurements must run under the heap settings the server sets in the shim."""
    shim = open(os.path.join(REPO, "Sources", "CTorchShim", "shim.cpp")).read()
    found = {getattr(allocator, name): int(value) << int(shift)
             for name, value, shift in re.findall(r"mallopt\((M_\w+), (\d+) << (\d+)\)", shim)}
    assert found == allocator.SETTINGS
