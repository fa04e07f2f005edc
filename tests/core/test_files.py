"""Atomic replacement of files: all or nothing, permissions as a user expects."""

import os

import pytest

from backworks_cli.core.files import replacing


def test_new_file_gets_the_umask_permissions(tmp_path):
    target = tmp_path / "backworks.yaml"
    old = os.umask(0o022)
    try:
        with replacing(target) as out:
            out.write(b"name: shop\n")
    finally:
        os.umask(old)
    assert target.read_bytes() == b"name: shop\n"
    assert target.stat().st_mode & 0o777 == 0o644


def test_existing_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "backworks.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    with replacing(target) as out:
        out.write(b"new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.har"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), replacing(target) as out:
        out.write(b"half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.har"]


def test_a_failed_check_cancels_the_replacement(tmp_path):
    target = tmp_path / "backworks.yaml"
    target.write_text("old\n")

    def changed_meanwhile():
        raise ValueError("changed on disk")

    with pytest.raises(ValueError), replacing(target, check=changed_meanwhile) as out:
        out.write(b"new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backworks.yaml"]
