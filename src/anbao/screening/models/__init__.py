"""Screening models, one module per area; each module lists its models in ``__all__``."""

from anbao.screening.models.gate import *  # noqa: F403
from anbao.screening.models.lanes import *  # noqa: F403
from anbao.screening.models.passages import *  # noqa: F403
from anbao.screening.models.records import *  # noqa: F403
