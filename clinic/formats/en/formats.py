from clinic.formats.common import *  # noqa: F403
