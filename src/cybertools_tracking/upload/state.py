"""The uploader's place under its old module name; see ``place``."""

from cybertools_tracking.upload.place import *  # noqa: F401,F403
from cybertools_tracking.upload.place import (  # noqa: F401
    Pending, UploadState, readState, saveImported, savePending, saveSuccess)
