"""The library layer without a model: output folders, the database switch, the main-guard check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import infermeter
from infermeter.api import library
from infermeter.config import build_config
from infermeter.core import isolation


def test_top_level_functions_are_the_documented_library_ones() -> None:
    for name in ("run", "compare", "soak", "sweep", "load"):
        fn = getattr(infermeter, name)
        assert fn is getattr(library, name) and fn.__doc__
    assert {"run", "compare", "soak", "sweep", "load"} <= set(dir(infermeter))
    with pytest.raises(AttributeError):
        infermeter.nonexistent  # noqa: B018


def test_output_defaults_to_one_temp_folder_unless_given() -> None:
    a = library._config({"model": {"name": "tiny-qwen3"}}, {}, None)
    b = library._config(None, {"max_new_tokens": 4}, None)
    assert a.output == b.output and Path(a.output).is_dir() and a.output != "results"
    assert b.generation.max_new_tokens == 4
    assert library._config(None, {}, "here").output == "here"
    assert library._config({"output": "mine"}, {}, None).output == "mine"  # the config's own wins
    cfg = build_config({"output": "kept"})
    assert library._config(cfg, {}, None).output == "kept"
    assert library._config(build_config({}), {}, None).output == a.output


def test_database_is_off_unless_asked_and_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERMETER_DB", raising=False)
    with library._database(False):
        assert os.environ["INFERMETER_DB"] == "off"
    assert "INFERMETER_DB" not in os.environ
    with library._database("x.db"):
        assert os.environ["INFERMETER_DB"] == "x.db"
    monkeypatch.setenv("INFERMETER_DB", "/tmp/user.db")
    with library._database(True):
        assert os.environ["INFERMETER_DB"] == "/tmp/user.db"
    with pytest.raises(RuntimeError), library._database(False):
        raise RuntimeError
    assert os.environ["INFERMETER_DB"] == "/tmp/user.db"


def test_main_guard_check_exits_only_while_a_worker_imports_main(monkeypatch: pytest.MonkeyPatch) -> None:
    isolation.refuse_while_importing_main()  # the parent: nothing happens
    proc = isolation.mp.current_process()
    monkeypatch.setattr(proc, "_inheriting", True, raising=False)
    with pytest.raises(SystemExit) as exc:
        isolation.refuse_while_importing_main()
    assert exc.value.code == isolation.MAIN_GUARD_EXIT
    assert 'if __name__ == "__main__":' in isolation.MAIN_GUARD_HELP and "\n" not in isolation.MAIN_GUARD_HELP


def test_explain_and_run_help_list_what_the_docs_promise(capsys: pytest.CaptureFixture[str]) -> None:
    from infermeter.cli import main

    assert main(["explain", "ITL", "(pooled", "gaps)"]) == 0
    assert "every gap between tokens" in capsys.readouterr().out
    assert main(["explain", "nonsense"]) == 2
    assert capsys.readouterr().err.startswith("infermeter: error: unknown term 'nonsense'")
    assert main(["explain"]) == 0
    assert all(len(line) <= 80 for line in capsys.readouterr().out.splitlines())
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = capsys.readouterr().out
    for key in ("generation.max_new_tokens", "measure.prompt_lens", "workload.limit", "label = None"):
        assert key in help_text, key
