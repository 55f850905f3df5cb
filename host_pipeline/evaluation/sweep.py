"""Sweep engine: a grid of parameters expanded into cells, run in local worker processes or on a Ray cluster.

A :class:`Sweep` names a cell function (``"module:function"``, imported in each worker), the grid (parameter ->
values, expanded as a Cartesian product), the seeds and fixed parameters. Each cell is keyed by a hash of its
parameters and gets a deterministic seed derived from that key, so local and Ray runs give identical results.
Every finished cell is appended to a JSON-lines results file at once; a later run with the same file skips the
cells already there, so an interrupted sweep resumes where it stopped. Plots are made from that file alone.

The cell function has the signature ``fn(params: dict, seed: int) -> dict`` (JSON-serialisable metrics). Workers
run torch with one thread, so results do not depend on how cells are spread over processes.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import os
import time
import tomllib
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ..errors import BackendError, ConfigError


@dataclass(frozen=True)
class Cell:
    """One point of a sweep: its parameters, the hash that keys it and its deterministic seed."""

    params: dict
    key: str
    seed: int


@dataclass
class Sweep:
    """Grid (parameter -> list of values) x seeds, plus fixed parameters, evaluated by ``task`` per cell."""

    name: str
    task: str  # "package.module:function"
    grid: dict[str, list] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    fixed: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[Cell]:
        names = list(self.grid)
        out = []
        for values in itertools.product(*(self.grid[n] for n in names)):
            for s in self.seeds:
                params = {**self.fixed, **dict(zip(names, values)), "seed": s}
                key = cell_key(self.task, params)
                out.append(Cell(params, key, int(key[:8], 16)))
        return out

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Sweep:
        """``name``, ``task``, ``seeds`` and the tables ``[grid]`` and ``[fixed]`` from a TOML file."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"sweep description {path}: {e}") from None
        unknown = set(data) - {"name", "task", "grid", "seeds", "fixed"}
        if unknown or "task" not in data:
            raise ConfigError(f"sweep description {path}: needs 'task'; unknown keys: {sorted(unknown)}")
        seeds, grid, fixed = data.get("seeds", [0]), data.get("grid", {}), data.get("fixed", {})
        if not isinstance(seeds, list) or not seeds or not all(isinstance(x, int) for x in seeds):
            raise ConfigError(f"sweep description {path}: seeds must be a non-empty list of integers, e.g. [0, 1]")
        if not isinstance(grid, dict) or not isinstance(fixed, dict):
            raise ConfigError(f"sweep description {path}: [grid] and [fixed] must be tables")
        grid = {k: (v if isinstance(v, list) else [v]) for k, v in grid.items()}
        if any(not v for v in grid.values()):
            raise ConfigError(f"sweep description {path}: a grid entry is an empty list (no cells)")
        return cls(data.get("name", Path(path).stem), data["task"], grid, seeds, dict(fixed))


def cell_key(task: str, params: dict) -> str:
    """SHA-256 (hex, 16 characters) of the task name and the parameters in canonical JSON."""
    blob = json.dumps({"task": task, "params": params}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def resolve_task(task: str) -> Callable[[dict, int], dict]:
    module, _, name = task.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"sweep task {task!r} not found: {e}") from None


def run_cell(task: str, params: dict, seed: int) -> tuple[dict, float]:
    """Run one cell in this process (torch limited to one thread): (result, seconds)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    t0 = time.perf_counter()
    result = resolve_task(task)(dict(params), seed)
    return result, time.perf_counter() - t0


def read_results(path: str | os.PathLike) -> list[dict]:
    """The records of a results file, one per cell (a torn last line from an interrupted write is ignored; a cell
    appended twice, by two runs at once, counts once: the last record)."""
    p = Path(path)
    if not p.exists():
        return []
    out: dict = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        out[r.get("key")] = r
    return list(out.values())


def _append(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _repair_tail(path: Path) -> None:
    """Drop a partial last line left by a killed writer, so the next record starts on its own line."""
    if path.exists() and path.stat().st_size:
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            path.write_bytes(data[: data.rfind(b"\n") + 1])


def run_sweep(sweep: Sweep, results: str | os.PathLike, *, workers: int = 2, ray_address: str | None = None,
              progress: bool = True, max_cells: int | None = None) -> list[dict]:
    """Run the cells of ``sweep`` not yet in ``results`` (JSON lines); return every record of this sweep.

    ``ray_address``: None = local processes (``workers`` of them; 1 = in this process); "local" = start a local
    Ray instance with ``workers`` CPUs; anything else = ``ray.init(address=...)`` of an existing cluster.
    ``max_cells``: stop after this many new cells (used to test resumption).
    """
    path = Path(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    _repair_tail(path)
    cells = sweep.cells()
    done = {r["key"] for r in read_results(path)}
    todo = [c for c in cells if c.key not in done]
    if max_cells is not None:
        todo = todo[:max_cells]
    bar = _progress(len(cells), len(cells) - len([c for c in cells if c.key not in done]), sweep.name, progress)

    def finish(cell: Cell, result: dict, seconds: float) -> None:
        _append(path, {"key": cell.key, "sweep": sweep.name, "task": sweep.task, "params": cell.params,
                       "cell_seed": cell.seed, "result": result, "seconds": round(seconds, 3)})
        bar.update(1)

    try:
        if not todo:
            pass
        elif ray_address is not None:
            _run_ray(sweep.task, todo, ray_address, workers, finish)
        elif workers <= 1:
            for c in todo:
                finish(c, *run_cell(sweep.task, c.params, c.seed))
        else:
            _run_local(sweep.task, todo, workers, finish)
    finally:
        bar.close()
    keys = {c.key for c in cells}
    return [r for r in read_results(path) if r["key"] in keys]


def _run_local(task: str, todo: list[Cell], workers: int, finish) -> None:
    # spawn: workers start clean (no forked torch/OpenMP state); each loads its models once and keeps them
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending = {pool.submit(run_cell, task, c.params, c.seed): c for c in todo}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    finish(pending.pop(fut), *fut.result())
        except BaseException:  # a failed cell (or Ctrl-C): do not run the queued ones to throw them away
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _run_ray(task: str, todo: list[Cell], address: str, workers: int, finish) -> None:
    try:
        import ray
    except ImportError:
        raise BackendError("Ray is not installed", hint="pip install ray (see requirements/) or run without --ray") \
            from None
    started = not ray.is_initialized()
    if started:
        try:
            if address == "local":
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": _repo_pythonpath()}})
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as e:  # ray raises ConnectionError, RuntimeError, ValueError for bad addresses
            raise BackendError(f"cannot connect to Ray at {address!r}: {str(e).splitlines()[0] if str(e) else e}",
                               hint="start one with `ray start --head` or use --ray local") from None
    remote_cell = ray.remote(num_cpus=1, max_retries=2)(run_cell)
    try:
        refs = {remote_cell.remote(task, c.params, c.seed): c for c in todo}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                finish(refs.pop(ref), *ray.get(ref))
    finally:
        if started:
            ray.shutdown()


def _repo_pythonpath() -> str:
    from ..paths import REPO_ROOT

    return os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))


def _progress(total: int, initial: int, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=f"sweep {name}", unit="cell", disable=not enabled,
                dynamic_ncols=True)


def results_by_params(records: Iterable[dict]) -> dict[str, dict]:
    """key -> result, for comparing two runs of the same sweep."""
    return {r["key"]: r["result"] for r in records}
