"""The OCI layout writer and reader: pinned layer bytes, gzip that every reader accepts, unsafe input refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from ccp_gitops.oci import image as oci

FILES = {
    "env/prod/kustomization.yaml": b"resources:\n- memcached\n",
    "env/prod/memcached/service.yaml": b"kind: Service\n",
    "env/prod/README.md": "café\n".encode(),
}


def test_layer_bytes_are_pinned() -> None:
    """Any change in tarfile, in our gzip writer or in entry order shows up here, on any machine."""
    assert hashlib.sha256(oci.deterministic_tar(FILES)).hexdigest() == (
        "6245bd966207bcc3d493d853d9b20cb78ce076eb374dc9a20c690da00f715b67"
    )
    assert oci.tar_gzip_layer(FILES, oci.FLUX_CONTENT_MEDIA_TYPE).digest == (
        "sha256:abad638cbfbb568ca78e0b74906ee4bdd330868cb04e8f507239f65967404409"
    )
    reordered = dict(reversed(list(FILES.items())))
    assert oci.deterministic_tar(reordered) == oci.deterministic_tar(FILES)


@pytest.mark.parametrize("size", [0, 1, 0xFFFF, 0xFFFF + 1, 3 * 0xFFFF + 17])
def test_gzip_is_read_by_python_and_gzip(size: int, tmp_path: Path) -> None:
    data = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    data = data[:size]
    packed = oci.deterministic_gzip(data)
    assert gzip.decompress(packed) == data
    path = tmp_path / "blob.gz"
    path.write_bytes(packed)
    proc = subprocess.run(["gzip", "-t", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert subprocess.run(["gzip", "-dc", str(path)], capture_output=True).stdout == data


def test_gnu_tar_lists_the_layer(tmp_path: Path) -> None:
    path = tmp_path / "layer.tar.gz"
    path.write_bytes(oci.tar_gzip_layer(FILES, oci.FLUX_CONTENT_MEDIA_TYPE).data)
    proc = subprocess.run(["tar", "-tzvf", str(path)], capture_output=True, text=True, env={**os.environ, "TZ": "UTC", "LC_ALL": "C"})
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert [(cols[0], cols[1], cols[-1]) for cols in lines] == [
        ("drwxr-xr-x", "0/0", "env/"),
        ("drwxr-xr-x", "0/0", "env/prod/"),
        ("-rw-r--r--", "0/0", "env/prod/README.md"),
        ("-rw-r--r--", "0/0", "env/prod/kustomization.yaml"),
        ("drwxr-xr-x", "0/0", "env/prod/memcached/"),
        ("-rw-r--r--", "0/0", "env/prod/memcached/service.yaml"),
    ]
    assert all(cols[3] == "1970-01-01" for cols in lines)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a//b", "a/./b", "", "a/"])
def test_unclean_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="not a clean relative path"):
        oci.deterministic_tar({path: b"x"})


def test_a_path_cannot_be_file_and_directory() -> None:
    with pytest.raises(ValueError, match="both a file and a directory: 'a'"):
        oci.deterministic_tar({"a": b"x", "a/b": b"y"})


def _raw_tar(entries: list[tarfile.TarInfo]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info in entries:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return buf.getvalue()


def test_extract_refuses_links_and_escapes() -> None:
    link = tarfile.TarInfo("env/prod/evil")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(oci.LayoutError, match="not a regular file"):
        oci.extract_tar_gzip(_raw_tar([link]))
    escape = tarfile.TarInfo("../outside")
    escape.size = 1
    with pytest.raises(oci.LayoutError, match="not a clean relative path"):
        oci.extract_tar_gzip(_raw_tar([escape]))
    with pytest.raises(oci.LayoutError, match="not a readable tar"):
        oci.extract_tar_gzip(b"not gzip")
    plain = tarfile.TarInfo("./env/a")
    plain.size = 1
    assert oci.extract_tar_gzip(_raw_tar([plain])) == {"env/a": b"x"}


def _layout(tmp_path: Path, tag: str = "v1") -> tuple[Path, oci.Blob]:
    config = oci.Blob(oci.FLUX_CONFIG_MEDIA_TYPE, b"{}")
    layer = oci.tar_gzip_layer(FILES, oci.FLUX_CONTENT_MEDIA_TYPE)
    manifest = oci.manifest(config, [layer], {oci.REVISION: "sha1:" + "0" * 40})
    out = tmp_path / "layout"
    oci.write_layout(out, [config, layer], manifest, tag)
    return out, manifest


def test_layout_round_trip(tmp_path: Path) -> None:
    out, manifest = _layout(tmp_path)
    assert json.loads((out / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((out / "index.json").read_bytes())
    assert index["manifests"][0]["digest"] == manifest.digest
    assert index["manifests"][0]["annotations"] == {oci.REF_NAME: "v1"}
    artifact = oci.read_layout(out)
    assert artifact.tag == "v1" and artifact.digest == manifest.digest
    assert oci.extract_tar_gzip(artifact.layers[0].data) == FILES
    assert oci.read_layout(out, "v1").digest == manifest.digest


def test_a_bad_tag_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid tag"):
        _layout(tmp_path, tag=".hidden")
    assert list(tmp_path.iterdir()) == []


def test_several_manifests_need_a_tag(tmp_path: Path) -> None:
    out, manifest = _layout(tmp_path)
    index = json.loads((out / "index.json").read_bytes())
    second = dict(index["manifests"][0], annotations={oci.REF_NAME: "v2"})
    index["manifests"].append(second)
    (out / "index.json").write_text(json.dumps(index))
    with pytest.raises(oci.LayoutError, match="holds 2 manifests; name one by tag \\(tags: v1, v2\\)"):
        oci.read_layout(out)
    assert oci.read_layout(out, "v2").digest == manifest.digest
