"""Compile many environments, in order, in this process or in a pool of worker processes.

Results come back in the order the environments were named, whatever order the workers finish
in, so a parallel compile writes exactly what a sequential one writes. Workers are forked from
the loaded session where the platform allows it (nothing is loaded twice) and otherwise open
the source themselves.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

from ccp_gitops.cache.disk import Cache
from ccp_gitops.compile.pipeline import Compiled, CompiledTree, Session, open_session
from ccp_gitops.compile.spec import SessionSpec
from ccp_gitops.model.problems import InputError, Problem
from ccp_gitops.source.inputs import env_name

Progress = Callable[[str], None]  # called with each environment's name once it is compiled
POLL_SECONDS = 0.5


Result = tuple[int, "CompiledTree | None", "list[Problem] | str"]


def _slim(compiled: Compiled, keep_objects: bool) -> CompiledTree:
    return compiled if keep_objects else compiled.slim()


def _work(setup: Session | SessionSpec, tasks: Any, results: Any, keep_objects: bool) -> None:
    """A worker: compile the environments it takes from ``tasks`` until the end marker."""
    session: Session | None = None
    failure: list[Problem] = []
    try:
        session = setup if isinstance(setup, Session) else open_session(setup)
    except InputError as exc:  # the parent loaded the same source: only a concurrent edit gets here
        failure = exc.problems
    while True:
        task = tasks.get()
        if task is None:
            return
        index, name = task
        if session is None:
            results.put((index, None, failure))
            continue
        try:
            results.put((index, _slim(session.compile(name), keep_objects), []))
        except InputError as exc:
            results.put((index, None, exc.problems))
        except Exception:
            results.put((index, None, traceback.format_exc()))


def _pool(session: Session, names: list[str], jobs: int, keep_objects: bool) -> Iterator[Result]:
    """Results of ``names`` from ``jobs`` worker processes, in the order they finish."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    setup: Session | SessionSpec = session if context.get_start_method() == "fork" else session.spec
    tasks, results = context.Queue(), context.Queue()
    for task in enumerate(names):
        tasks.put(task)
    workers = [context.Process(target=_work, args=(setup, tasks, results, keep_objects), daemon=True) for _ in range(jobs)]
    for worker in workers:
        worker.start()
        tasks.put(None)
    try:
        for _ in names:
            while True:
                try:
                    yield results.get(timeout=POLL_SECONDS)
                    break
                except queue.Empty:
                    if not any(w.is_alive() for w in workers):
                        raise RuntimeError("every compile worker exited before finishing") from None
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()


def compile_each(session: Session, names: list[str], jobs: int = 1, progress: Progress | None = None) -> Iterator[Compiled]:
    """Compile ``names`` (duplicates once) and yield them in that order; then raise every problem together.

    ``jobs`` > 1 compiles in worker processes; ``progress`` is called with each name once it is done.
    """
    for compiled in _compile(session, names, jobs, progress, keep_objects=True):
        assert isinstance(compiled, Compiled)
        yield compiled


def compile_each_slim(session: Session, names: list[str], jobs: int = 1, progress: Progress | None = None) -> Iterator[CompiledTree]:
    """``compile_each`` in the slim form: no objects are kept, or sent back by the workers."""
    return _compile(session, names, jobs, progress, keep_objects=False)


def _compile(session: Session, names: list[str], jobs: int, progress: Progress | None, keep_objects: bool) -> Iterator[CompiledTree]:
    names = list(dict.fromkeys(names))
    problems: list[Problem] = []
    if jobs <= 1 or len(names) <= 1:
        for name in names:
            try:
                compiled = session.compile(name)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            finally:
                if progress is not None:
                    progress(name)
            yield _slim(compiled, keep_objects)
    else:
        done: dict[int, CompiledTree | None] = {}
        following = 0
        for index, item, found in _pool(session, names, min(jobs, len(names)), keep_objects):
            if isinstance(found, str):
                raise RuntimeError(f"compiling env/{names[index]} failed:\n{found}")
            problems.extend(found)
            done[index] = item
            if progress is not None:
                progress(names[index])
            while following in done:
                ready = done.pop(following)
                following += 1
                if ready is not None:
                    yield ready
    if problems:
        raise InputError(problems)


def compile_all(
    source_dir: Path,
    names: list[str],
    crds: list[Path] | None = None,
    check: bool = True,
    engines: list[str] | None = None,
    cache: Cache | None = None,
    jobs: int = 1,
) -> list[Compiled]:
    """Compile the named environments; every problem of every environment is raised together.

    ``crds`` are CRD folders for the schema check (default: ``$CCP_CRDS``); ``check=False`` skips it.
    ``engines`` overrides the overlays' delivery.engines. ``cache`` keeps parsed inputs, renders,
    checks and emitted objects on disk; ``jobs`` compiles environments in that many processes.
    The result is the same with or without either.
    """
    return compile_envs(SessionSpec(source_dir, crds, check, engines, cache, jobs), names)


def compile_envs(spec: SessionSpec, names: list[str]) -> list[Compiled]:
    """Compile the named environments as ``spec`` says; every problem of every environment is raised together."""
    return list(compile_each(open_session(spec), [env_name(n) for n in names], spec.jobs))


def compile_envs_slim(spec: SessionSpec, names: list[str]) -> list[CompiledTree]:
    """``compile_envs`` in the slim form a fleet keeps (``Compiled.slim``)."""
    return list(compile_each_slim(open_session(spec), [env_name(n) for n in names], spec.jobs))
