"""Accreditation models, one module per area; each module lists its models in ``__all__``."""

from anbao.accreditation.models.badges import *  # noqa: F403
from anbao.accreditation.models.credentials import *  # noqa: F403
from anbao.accreditation.models.people import *  # noqa: F403
