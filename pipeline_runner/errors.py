"""The error types the CLI turns into messages and exit codes.

One base type; each subclass carries what a user needs to act on it.
"""

from __future__ import annotations

from dataclasses import dataclass


class PipelineError(Exception):
    """Base of every error the runner reports to the user."""

    exit_code = 1

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, "message": str(self)}


@dataclass(frozen=True)
class Problem:
    """One problem in a recipe, located in its YAML file."""

    file: str
    yaml_path: str  # e.g. "convert.precision" or "inputs[0].shape"
    line: int | None  # 1-based
    column: int | None  # 1-based
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        text = f"{where}: {self.yaml_path or '<recipe>'}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class RecipeError(PipelineError):
    """A recipe is invalid; all its problems are reported at once. Nothing was built."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        n = len(problems)
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} in recipe:\n" + "\n".join(f"  {p}" for p in problems)
        )

    def to_dict(self) -> dict:
        return {"type": "RecipeError", "problems": [p.to_dict() for p in self.problems]}

    def __reduce__(self):  # errors cross the pipe from the stage worker process
        return (type(self), (self.problems,), self.__dict__)


@dataclass(frozen=True)
class FieldProblem:
    """A problem with one field below ``model`` (e.g. ``("params", "dim")``), found by a model source."""

    field: tuple
    message: str
    hint: str | None = None


class ModelSpecError(PipelineError):
    """``model.architecture``/``model.params`` do not fit the model source (found when the model is made).

    The build stage turns it into a located RecipeError.
    """

    exit_code = 2

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(f"model.{'.'.join(map(str, p.field))}: {p.message}" for p in problems))

    def __reduce__(self):
        return (type(self), (self.problems,), self.__dict__)


class StageError(PipelineError):
    """A stage failed while running; the cause is chained with ``from``."""

    def __init__(self, recipe: str, stage: str, message: str):
        self.recipe, self.stage, self.message = recipe, stage, message
        super().__init__(f"{recipe}: stage {stage} failed: {message}")

    def __reduce__(self):
        return (type(self), (self.recipe, self.stage, self.message), self.__dict__)

    def to_dict(self) -> dict:
        return {"type": "StageError", "recipe": self.recipe, "stage": self.stage, "message": str(self)}


class ValidationFailed(PipelineError):
    """Validation ran and found outputs outside the recipe's tolerances."""

    def __init__(self, recipe: str, stage: str, failures: list[str], report_path: str):
        self.recipe, self.stage, self.failures, self.report_path = recipe, stage, failures, report_path
        lines = "\n".join(f"  {f}" for f in failures)
        super().__init__(f"{recipe}: {stage}: validation failed (report: {report_path}):\n{lines}")

    def __reduce__(self):
        return (type(self), (self.recipe, self.stage, self.failures, self.report_path), self.__dict__)

    def to_dict(self) -> dict:
        return {
            "type": "ValidationFailed",
            "recipe": self.recipe,
            "stage": self.stage,
            "failures": self.failures,
            "report": self.report_path,
        }


class CapturedError(PipelineError):
    """An error raised in a worker process, carried back as what the CLI shows of it."""

    def __init__(self, message: str, exit_code: int, as_dict: dict, traceback: str | None = None):
        super().__init__(message)
        self.exit_code, self._dict, self.traceback = exit_code, as_dict, traceback

    def __reduce__(self):
        return (CapturedError, (str(self), self.exit_code, self._dict, self.traceback))

    @classmethod
    def of(cls, error: PipelineError) -> "CapturedError":
        return cls(str(error), error.exit_code, error.to_dict(), getattr(error, "traceback", None))

    def to_dict(self) -> dict:
        return self._dict
