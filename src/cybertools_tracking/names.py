"""The task names the machinery keeps for itself, and the trackable types.

A usage database holds, beside the trackables' tasks, tasks that the
tracker and the uploader write for their own bookkeeping. Their names start
with ``__`` so they can never be taken for a trackable: listing, reports
and uploads skip them, and declaring a trackable of a reserved name is
refused (a trackable called ``__submissions__`` would corrupt the
uploader's place).
"""

INTERNAL_PREFIX = '__'

REGISTRY_TASK = '__registry__'
SUBMISSIONS_TASK = '__submissions__'
UPLOAD_TASK = '__upload__'

RESERVED = {
    REGISTRY_TASK: 'the registry of trackables',
    SUBMISSIONS_TASK: 'the count of successful uploads and their watermark',
    UPLOAD_TASK: 'the batch being uploaded',
}

# The kinds of trackable, as AnonymousUsage named them (and as the HQ
# protocol sends them in each trackable's "type").
TYPES = ('Statistic', 'State', 'Timer', 'Sequence')


def isInternal(name):
    """True for names the machinery owns (they start with '__'); False
    for every other value, str or not."""
    return isinstance(name, str) and name.startswith(INTERNAL_PREFIX)
