import os
import stat

import pytest

from warden_tools import paths


def test_repository_layout():
    assert os.path.isfile(os.path.join(paths.REPO, "Package.swift"))
    assert paths.SCRIPTS == os.path.join(paths.REPO, "scripts")
    assert os.path.isfile(os.path.join(paths.DEFAULT_MODEL, "manifest.json"))
    assert os.path.isdir(paths.FIXTURES) and os.path.isdir(paths.TOKENIZER_DIR)
    assert os.path.isfile(paths.V2_TABLES)


def test_data_root_defaults_beside_the_checkout(monkeypatch):
    monkeypatch.delenv("WARDEN_DATA", raising=False)
    assert paths.data_root() == paths.DEFAULT_DATA_ROOT
    assert paths.DEFAULT_DATA_ROOT == os.path.normpath(os.path.join(paths.REPO, "..", "shared", "data"))


def test_data_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WARDEN_DATA", str(tmp_path))
    assert paths.data_root() == str(tmp_path)
    import argparse
    ap = argparse.ArgumentParser()
    paths.add_data_argument(ap)
    assert ap.parse_args([]).data == str(tmp_path)
    assert ap.parse_args(["--data", "elsewhere"]).data == "elsewhere"


def test_a_missing_data_folder_names_the_flag(tmp_path):
    with pytest.raises(SystemExit) as e:
        paths.check_data_dir(str(tmp_path / "missing"))
    assert "--data DIR" in str(e.value) and "WARDEN_DATA" in str(e.value)
    paths.check_data_dir(str(tmp_path))  # exists: no exit


def _binary(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_warden_binary_order(monkeypatch, tmp_path):
    monkeypatch.delenv("WARDEN_BINARY", raising=False)
    assert paths.warden_binary(str(tmp_path)) is None
    debug = _binary(tmp_path / ".build" / "debug" / "warden")
    assert paths.warden_binary(str(tmp_path)) == debug
    release = _binary(tmp_path / ".build" / "release" / "warden")
    assert paths.warden_binary(str(tmp_path)) == release
    chosen = _binary(tmp_path / "elsewhere" / "warden")
    monkeypatch.setenv("WARDEN_BINARY", chosen)
    assert paths.warden_binary(str(tmp_path)) == chosen
    monkeypatch.setenv("WARDEN_BINARY", str(tmp_path / "not-there"))
    assert paths.warden_binary(str(tmp_path)) == release


def test_a_file_that_is_not_executable_is_not_a_binary(monkeypatch, tmp_path):
    monkeypatch.delenv("WARDEN_BINARY", raising=False)
    plain = tmp_path / ".build" / "release" / "warden"
    plain.parent.mkdir(parents=True)
    plain.write_text("")
    assert paths.warden_binary(str(tmp_path)) is None
    assert paths.build_products(str(tmp_path))[0] == str(plain)
