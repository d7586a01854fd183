"""A toy module that fails on every replicate (a model error on the worker): its message
spans lines, as tracebacks and validation errors do."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from popsim.core import Module


class BoomParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: str = "init"


class Boom(Module):
    """Raises when the model starts."""

    name: ClassVar[str] = "boom"
    params_class = BoomParams
    default_on: ClassVar[bool] = False

    def init(self, model: Any) -> None:
        raise RuntimeError("failed on purpose\nsecond line of the message")
