"""Workforce models, one module per area; each module lists its models in ``__all__``."""

from anbao.workforce.models.duty import *  # noqa: F403
from anbao.workforce.models.posts import *  # noqa: F403
from anbao.workforce.models.roster import *  # noqa: F403
from anbao.workforce.models.staff import *  # noqa: F403
from anbao.workforce.models.training import *  # noqa: F403
