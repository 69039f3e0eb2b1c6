"""Run a Python module that serves over uvicorn, and print one line the moment its sockets listen.

    python tests/integration/listening.py MODULE [ARGS...]    (as ``python -m MODULE ARGS...``)

Servers say different things when they start, and not always after the socket listens: vLLM binds its
socket itself and hands it to uvicorn, whose start-up message then comes before uvicorn attaches it, so a
connection in between is refused. This wrapper prints ``READY`` right after uvicorn's own start-up step has
returned, which is when every socket it serves on is listening; a test waits for that line, and nothing
else, before the server's first request.

On a CPU with AMX (Intel Xeon, 4th generation on), llama.cpp's server runs with its weights in plain CPU
buffers: llama-cpp-python 0.3.36, built natively there, repacks them for AMX and then crashes (SIGSEGV) on
the first prompt of more than one token with the embedded Q4_1 model.
"""

import os
import sys

# This file's folder is first on sys.path when run as a script; drop it so that nothing here can shadow a
# module the server imports.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import runpy  # noqa: E402

READY = "infermeter-test: sockets listening"


def _announce(startup):  # noqa: ANN001, ANN202
    async def startup_then_announce(self, sockets=None):  # noqa: ANN001, ANN202
        await startup(self, sockets=sockets)
        if not self.should_exit and self.servers:  # a failed start sets should_exit and serves nothing
            print(READY, flush=True)

    return startup_then_announce


def _cpu_has_amx() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return any(line.startswith("flags") and " amx_int8" in line for line in f)
    except OSError:
        return False


def _llama_cpp_without_extra_buffers() -> None:
    """Load llama.cpp models with ``use_extra_bufts`` off (no AMX or other repacking buffers): llama-cpp-python
    reads its model defaults from this function, and its server offers no flag for it."""
    import llama_cpp.llama_cpp as lib

    defaults = lib.llama_model_default_params

    def plain_buffers():  # noqa: ANN202
        params = defaults()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = plain_buffers


if __name__ == "__main__":  # (a spawned child imports this file under another name, and must not serve)
    import uvicorn  # the server's own (this runs under the server's python)

    uvicorn.Server.startup = _announce(uvicorn.Server.startup)
    module = sys.argv[1]
    if module == "llama_cpp.server" and _cpu_has_amx():
        _llama_cpp_without_extra_buffers()
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
