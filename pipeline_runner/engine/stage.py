"""What a stage is, and the registry that orders stages by what they consume.

A stage names the recipe fields it reads, the stages whose artifacts it consumes,
the libraries and our own modules its result depends on, and a run function.
Per-graph stages run once per exported graph (``export[image_encoder]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline_runner.recipe import Recipe


@dataclass
class StageResult:
    """What a run function returns: artifact paths relative to the build directory."""

    artifacts: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # non-empty: the stage's check failed


@dataclass
class StageContext:
    recipe: "Recipe"
    graph: dict | None  # the graph this instance works on (per-graph stages)
    build_dir: Path  # final artifacts live here
    work_dir: Path  # the run function writes here; moved into build_dir on success
    log: Callable[[str], None]
    upstream_info: dict[str, dict]  # instance name -> the info its last run recorded
    key: str = ""  # this instance's cache key (stamped into artifacts as provenance)

    def output(self, rel: str) -> Path:
        """Where to write artifact ``rel`` during this run (parents created)."""
        path = self.work_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def existing(self, rel: str) -> Path:
        """A finished artifact of an upstream stage."""
        return self.build_dir / rel


@dataclass(frozen=True)
class Stage:
    name: str
    version: int  # bump when the stage's behaviour changes in a way code hashing cannot see
    run: Callable[[StageContext], StageResult]
    reads: tuple[str, ...] = ()  # dotted recipe paths; "graph" = this instance's graph spec
    needs: tuple[str, ...] = ()  # stage names whose artifacts it consumes
    per_graph: bool = False
    tools: tuple[str, ...] = ()  # distributions whose versions enter the cache key
    code: tuple[str, ...] = ()  # our modules/packages whose source enters the cache key
    imports: tuple[str, ...] = ()  # heavy modules its run imports: a spare worker imports them ahead (runner)
    reads_files: Callable[["Recipe"], list[Path]] | None = None  # input files whose content enters the key
    applies: Callable[["Recipe"], bool] = lambda recipe: True


@dataclass(frozen=True)
class StageInstance:
    stage: Stage
    graph: str | None

    @property
    def name(self) -> str:
        return f"{self.stage.name}[{self.graph}]" if self.graph else self.stage.name


def order_stages(stages: dict[str, Stage]) -> list[Stage]:
    """Stages in dependency order (a topological sort of ``needs``); cycles are a bug.

    Among the stages ready to run, the one registered first goes first, so the order is
    the registry's wherever ``needs`` allows it.
    """
    import graphlib

    for stage in stages.values():
        unknown = [dep for dep in stage.needs if dep not in stages]
        if unknown:
            raise RuntimeError(f"stage {stage.name!r} needs unknown stage {unknown[0]!r}")
    sorter = graphlib.TopologicalSorter({name: stage.needs for name, stage in stages.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise RuntimeError(f"stage dependency cycle: {' -> '.join(exc.args[1])}") from exc
    rank = {name: i for i, name in enumerate(stages)}
    ordered, ready = [], set()
    while sorter.is_active():
        ready.update(sorter.get_ready())
        name = min(ready, key=rank.__getitem__)
        ready.remove(name)
        sorter.done(name)
        ordered.append(stages[name])
    return ordered


def expand(stages: list[Stage], recipe: "Recipe") -> list[StageInstance]:
    out = []
    for stage in stages:
        if not stage.applies(recipe):
            continue
        if stage.per_graph:
            out += [StageInstance(stage, g.name) for g in recipe.graphs]
        else:
            out.append(StageInstance(stage, None))
    return out


def upstream_of(instance: StageInstance, instances: list[StageInstance]) -> list[StageInstance]:
    """The instances ``instance`` consumes: the same graph's for per-graph pairs, all otherwise."""
    ups = []
    for other in instances:
        if other.stage.name not in instance.stage.needs:
            continue
        if instance.graph and other.graph and other.graph != instance.graph:
            continue
        ups.append(other)
    return ups
