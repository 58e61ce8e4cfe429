"""Bundles of real compiled env repos: reproducible digests, the lock seal, skopeo reading them, bad input."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from datetime import datetime
from pathlib import Path
from typing import Callable

import git
import pytest

from ccp_gitops.compile.layout import LOCK_FILE
from ccp_gitops.compile.spec import SessionSpec
from ccp_gitops.oci.bundle import BundleMismatch, read_bundle, read_env_commit, run_bundle
from ccp_gitops.oci.image import LayoutError
from ccp_gitops.repo.commit import read_files
from ccp_gitops.repo.write import WriteOptions, run_compile

CONFIG_TYPE = "application/vnd.cncf.flux.config.v1+json"
CONTENT_TYPE = "application/vnd.cncf.flux.content.v1.tar+gzip"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"

Cli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="module")
def skopeo() -> str:
    found = shutil.which("skopeo")
    assert found, "skopeo is not installed: run `make test-deps` (apt-get install skopeo)"
    return found


def compile_into(source: Path, repo: Path) -> str:
    """Compile prod and dev from ``source`` into ``repo``; return the branch head."""
    run_compile(SessionSpec(source), ["env/prod", "env/dev"], WriteOptions(repo))
    return git.Repo(repo).head.commit.hexsha


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(source copy, env repo, head) after ``compile env/prod env/dev`` of the bundled catalogue."""
    base = tmp_path_factory.mktemp("compiled")
    source = base / "source"
    root = Path(__file__).resolve().parents[1]
    for part in ("base", "components", "overlays"):
        shutil.copytree(root / part, source / part)
    repo = base / "env-repo"
    return source, repo, compile_into(source, repo)


def skopeo_json(skopeo: str, *args: str) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run([skopeo, *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def untar(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


# --- reproducible digests -------------------------------------------------------------------------


def test_two_bundles_of_one_commit_have_the_same_digest(compiled: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, repo, head = compiled
    first = run_bundle(repo, "env/prod", None, tmp_path / "a")
    clone = tmp_path / "clone"  # another checkout of the same commit, elsewhere on disk
    git.Repo.clone_from(str(repo), str(clone))
    second = run_bundle(clone, "prod", head, tmp_path / "b", tag=first.tag)
    assert first.commit == second.commit == head
    assert first.digest == second.digest
    assert first.layer.digest == second.layer.digest
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    assert files_a == files_b
    for rel in files_a:
        if (tmp_path / "a" / rel).is_file():
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_a_one_option_change_gives_a_different_digest(tmp_path: Path, source_copy: Path) -> None:
    repo = tmp_path / "env-repo"
    compile_into(source_copy, repo)
    before_prod = run_bundle(repo, "prod", None, tmp_path / "p1")
    before_dev = run_bundle(repo, "dev", None, tmp_path / "d1")
    overlay = source_copy / "overlays" / "prod" / "env.yaml"
    text = overlay.read_text()
    assert "replicas: {memcached: 2}" in text
    # one option local to memcached (its replica count would also change every client's server list)
    overlay.write_text(text.replace("replicas: {memcached: 2}", "replicas: {memcached: 2}\n    values: {memory_mb: 512}"))
    compile_into(source_copy, repo)
    after_prod = run_bundle(repo, "prod", None, tmp_path / "p2")
    after_dev = run_bundle(repo, "dev", None, tmp_path / "d2")
    assert after_prod.commit != before_prod.commit
    assert after_prod.digest != before_prod.digest
    assert after_prod.layer.digest != before_prod.layer.digest
    # dev did not change: same content layer, but a new manifest since its revision annotation moved
    assert after_dev.layer.digest == before_dev.layer.digest
    assert after_dev.digest != before_dev.digest
    old, new = read_bundle(tmp_path / "p1"), read_bundle(tmp_path / "p2")
    changed = {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}
    # the README shows the input digest, so it changes with any input
    assert changed == {"env/prod/memcached/statefulset-memcached.yaml", "env/prod/README.md", f"env/prod/{LOCK_FILE}"}


def test_the_layer_does_not_depend_on_the_clock_or_the_file_system(compiled: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, repo, head = compiled
    bundle = run_bundle(repo, "prod", head, tmp_path / "out")
    with tarfile.open(fileobj=io.BytesIO(bundle.layer.data), mode="r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[:2] == ["env", "env/prod"]
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname, member.mtime) == (0, 0, "", "", 0)
        assert member.mode == (0o755 if member.isdir() else 0o644)
    header = bundle.layer.data[:10]
    assert header == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no comment, mtime 0
    assert gzip.decompress(bundle.layer.data).startswith(b"env/")


# --- the lock ------------------------------------------------------------------------------------


def test_compile_records_the_bundle_layer_digest_in_the_lock(compiled: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, repo, head = compiled
    lock = json.loads(read_files(git.Repo(repo), head, "env/prod")[f"env/prod/{LOCK_FILE}"])
    bundle = run_bundle(repo, "prod", head, tmp_path / "out")
    assert bundle.verified
    assert lock["bundle"] == {
        "layer": {"digest": bundle.layer.digest, "mediaType": CONTENT_TYPE, "size": len(bundle.layer.data)},
        "branch": "main",
        "source": "https://git.example.com/openstack/env-repo.git",
    }
    assert bundle.source == lock["bundle"]["source"]
    # the artifact carries the lock as its config: manifest -> lock -> layer digest
    assert bundle.config.data == read_files(git.Repo(repo), head, "env/prod")[f"env/prod/{LOCK_FILE}"]


def test_a_hand_edited_env_folder_is_refused(compiled: tuple[Path, Path, str], tmp_path: Path, run_cli: Cli) -> None:
    _, repo, _ = compiled
    clone = tmp_path / "clone"
    work = git.Repo.clone_from(str(repo), str(clone))
    target = clone / "env" / "prod" / "memcached" / "service-memcached.yaml"
    target.write_text(target.read_text() + "# edited by hand\n")
    work.index.add([str(target)])
    work.index.commit("hand edit", author=git.Actor("t", "t@t"), committer=git.Actor("t", "t@t"))
    with pytest.raises(BundleMismatch, match="was edited after compile"):
        run_bundle(clone, "prod", None, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    proc = run_cli("bundle", "env/prod", "--repo", str(clone), "--output", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# --- skopeo reads the layout -------------------------------------------------------------------------


def test_skopeo_inspect_shows_flux_media_types_and_annotations(
    compiled: tuple[Path, Path, str], tmp_path: Path, skopeo: str, run_cli: Cli) -> None:
    _, repo, head = compiled
    out = tmp_path / "oci"
    proc = run_cli("bundle", "env/prod", "--repo", str(repo), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    tag = f"prod-{head[:12]}"
    assert f"tag:      {tag}" in proc.stdout
    committed = int(git.Repo(repo).git.show("-s", "--format=%ct", head))
    raw = skopeo_json(skopeo, "inspect", "--raw", f"oci:{out}:{tag}")
    assert raw["mediaType"] == MANIFEST_TYPE
    assert raw["config"]["mediaType"] == CONFIG_TYPE
    assert [layer["mediaType"] for layer in raw["layers"]] == [CONTENT_TYPE]
    annotations = raw["annotations"]
    assert annotations["org.opencontainers.image.source"] == "https://git.example.com/openstack/env-repo.git"
    assert annotations["org.opencontainers.image.revision"] == f"main@sha1:{head}"
    stamp = annotations["org.opencontainers.image.created"]
    assert stamp.endswith("Z") and datetime.fromisoformat(stamp).timestamp() == committed
    digest_line = next(line for line in proc.stdout.splitlines() if line.strip().startswith("digest:"))
    manifest = (out / "blobs" / "sha256" / digest_line.split("sha256:")[1]).read_bytes()
    assert json.loads(manifest) == raw
    config = skopeo_json(skopeo, "inspect", "--config", "--raw", f"oci:{out}:{tag}")
    assert config["bundle"]["layer"]["digest"] == raw["layers"][0]["digest"]


def test_skopeo_copy_round_trips_to_the_env_commit_tree(compiled: tuple[Path, Path, str], tmp_path: Path, skopeo: str) -> None:
    _, repo, head = compiled
    out = tmp_path / "oci"
    bundle = run_bundle(repo, "prod", None, out, tag="release-1")
    copied = tmp_path / "copied"
    proc = subprocess.run([skopeo, "copy", "--quiet", "oci:" + str(out) + ":release-1", f"dir:{copied}"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((copied / "manifest.json").read_bytes())
    assert "sha256:" + hashlib.sha256((copied / "manifest.json").read_bytes()).hexdigest() == bundle.digest
    layer_blob = (copied / manifest["layers"][0]["digest"].removeprefix("sha256:")).read_bytes()
    config_blob = (copied / manifest["config"]["digest"].removeprefix("sha256:")).read_bytes()
    commit_tree = read_files(git.Repo(repo), head, "env/prod")
    lock_path = f"env/prod/{LOCK_FILE}"
    assert untar(layer_blob) == {p: d for p, d in commit_tree.items() if p != lock_path}
    assert manifest["config"]["annotations"]["org.opencontainers.image.title"] == lock_path
    assert {**untar(layer_blob), lock_path: config_blob} == commit_tree
    # and back: skopeo writes a fresh layout that our reader accepts, with the same digest
    again = tmp_path / "again"
    proc = subprocess.run([skopeo, "copy", "--quiet", f"dir:{copied}", f"oci:{again}:release-1"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert read_bundle(again, "release-1") == commit_tree


# --- reading bundles back (for diff) ----------------------------------------------------------------


def test_read_bundle_equals_the_commit_and_compares_two_bundles(tmp_path: Path, source_copy: Path) -> None:
    repo = tmp_path / "env-repo"
    first = compile_into(source_copy, repo)
    run_bundle(repo, "prod", None, tmp_path / "one")
    assert read_bundle(tmp_path / "one") == read_files(git.Repo(repo), first, "env/prod")
    overlay = source_copy / "overlays" / "prod" / "env.yaml"
    overlay.write_text(overlay.read_text().replace("replicas: {memcached: 2}", "replicas: {memcached: 2}\n    values: {memory_mb: 512}"))
    second = compile_into(source_copy, repo)
    run_bundle(repo, "prod", second, tmp_path / "two")
    one, two = read_bundle(tmp_path / "one"), read_bundle(tmp_path / "two")
    assert one.keys() == two.keys()
    changed = sorted(p for p in one if one[p] != two[p])
    assert changed == ["env/prod/README.md", f"env/prod/{LOCK_FILE}", "env/prod/memcached/statefulset-memcached.yaml"]
    assert b"512" in two["env/prod/memcached/statefulset-memcached.yaml"]
    # a bundle compares with a commit the same way
    assert read_bundle(tmp_path / "one") == read_files(git.Repo(repo), first, "env/prod")
    assert read_bundle(tmp_path / "two") == read_files(git.Repo(repo), second, "env/prod")


def test_read_bundle_refuses_a_tampered_layout(compiled: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, repo, _ = compiled
    bundle = run_bundle(repo, "prod", None, tmp_path / "oci", tag="t1")
    with pytest.raises(LayoutError, match="no manifest tagged 'nope'"):
        read_bundle(tmp_path / "oci", "nope")
    blob = tmp_path / "oci" / "blobs" / "sha256" / bundle.layer.digest.removeprefix("sha256:")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(LayoutError, match="does not match its digest"):
        read_bundle(tmp_path / "oci")
    with pytest.raises(LayoutError, match="not an OCI image layout"):
        read_bundle(tmp_path)


def test_naming_the_commit_by_branch_or_sha_gives_one_digest(compiled: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, repo, head = compiled
    by_default = run_bundle(repo, "prod", None, tmp_path / "a")
    by_branch = run_bundle(repo, "prod", "main", tmp_path / "b")
    by_sha = run_bundle(repo, "prod", head[:10], tmp_path / "c")
    assert by_default.digest == by_branch.digest == by_sha.digest
    assert by_sha.revision == f"main@sha1:{head}"  # the env's delivery branch, recorded in the lock
    assert read_env_commit(repo, "prod", head[:10]).commit == head


# --- bad input: exit 2, one line, nothing written ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["env/prod", "--rev", "no-such-branch"], "unknown revision 'no-such-branch'"),
        (["env/prod", "--rev", "--all"], "unknown revision '--all'"),
        (["env/nope"], "unknown environment 'nope': no env/nope/ at main (environments there: dev, prod)"),
        (["env/prod", "--tag", "-bad"], "invalid tag '-bad'"),
        (["env/../prod"], "invalid environment 'env/../prod'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    compiled: tuple[Path, Path, str], tmp_path: Path, args: list[str], message: str, run_cli: Cli) -> None:
    _, repo, _ = compiled
    out = tmp_path / "out"
    proc = run_cli("bundle", *args[:1], "--repo", str(repo), "--output", str(out), *args[1:])
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()


def test_output_must_be_new_or_an_empty_directory(compiled: tuple[Path, Path, str], tmp_path: Path, run_cli: Cli) -> None:
    _, repo, _ = compiled
    a_file = tmp_path / "file"
    a_file.write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep").write_text("mine")
    for out, message in ((a_file, "exists and is not a directory"), (full, "directory is not empty")):
        proc = run_cli("bundle", "env/prod", "--repo", str(repo), "--output", str(out))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines() == [f"ccp-gitops: {out}: {message}; name a new or empty directory for --output"]
    assert a_file.read_text() == "x" and (full / "keep").read_text() == "mine"
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    proc = run_cli("bundle", "env/prod", "--repo", str(repo), "--output", str(link))
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"ccp-gitops: {link}: is a symlink; name a new or empty directory for --output"
    ]
    assert link.is_symlink() and list(target.iterdir()) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("bundle", "env/prod", "--repo", str(repo), "--output", str(empty))
    assert proc.returncode == 0, proc.stderr
    assert (empty / "index.json").is_file() and (empty / "oci-layout").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_a_missing_env_repo_exits_2(tmp_path: Path, run_cli: Cli) -> None:
    proc = run_cli("bundle", "env/prod", "--repo", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"ccp-gitops: {tmp_path / 'nowhere'}: no env repo here"]
    assert not (tmp_path / "nowhere").exists()


def test_help_has_an_example(run_cli: Cli) -> None:
    proc = run_cli("bundle", "--help")
    assert proc.returncode == 0
    assert "Example: ccp-gitops bundle env/prod" in proc.stdout


def test_diff_compares_two_bundles_and_a_bundle_with_a_commit(tmp_path: Path, source_copy: Path) -> None:
    import json

    from .conftest import cli

    repo = tmp_path / "env-repo"
    first = compile_into(source_copy, repo)
    run_bundle(repo, "prod", first, tmp_path / "one")
    overlay = source_copy / "overlays" / "prod" / "env.yaml"
    overlay.write_text(overlay.read_text().replace("replicas: {memcached: 2}", "replicas: {memcached: 3}"))
    second = compile_into(source_copy, repo)
    run_bundle(repo, "prod", second, tmp_path / "two")

    proc = cli("diff", "--from", f"oci:{tmp_path / 'one'}", "--to", f"oci:{tmp_path / 'two'}", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    changed = {r["id"] for r in json.loads(proc.stdout)["resources"]}
    assert "StatefulSet.apps/openstack/memcached" in changed
    same = cli("diff", "--from", f"oci:{tmp_path / 'two'}", "--to", second, "--repo", str(repo), "--exit-code")
    assert same.returncode == 0, same.stdout + same.stderr
    differs = cli("diff", "--from", f"oci:{tmp_path / 'one'}", "--to", "main", "--repo", str(repo), "--exit-code")
    assert differs.returncode == 1
    bad = cli("diff", "--from", f"oci:{tmp_path / 'nope'}", "--to", "main", "--repo", str(repo))
    assert bad.returncode == 2 and "not a readable ccp-gitops bundle" in bad.stderr
