"""The uploader's place under its old module name; see ``place``."""

from cybertools_tracking.upload.place import (
    Pending, UploadState, readState, saveImported, savePending, saveSuccess)

__all__ = ['Pending', 'UploadState', 'readState', 'saveImported',
           'savePending', 'saveSuccess']
