"""GB 45438-2025 AI-generated content labels, from Python: the aigc-label reference.

Every function returns plain dicts (the JSON objects the ``aigc-label`` command prints):

- ``read(path_or_bytes, name=None)``: the implicit labels a file carries and the verdict
  (valid | invalid | conflict | unlabeled);
- ``embed(path_or_bytes, fields, output=None, ...)``: write a label in the format's standard carrier;
- ``propagate(path, output, propagator, propagate_id, ...)``: the content platform role (Measures Art. 6);
- ``check(path, original=None, ...)``: measure an explicit (visible/audible) label, chapter 5;
- ``scan_file(path)``: one line of ``aigc-label scan`` (reference/schema/scan-line.schema.json).

``aigc_label.distributed`` holds the Dask recipe (``scan_with_dask``) and the file walk.
Errors: ``OSError`` from the operating system, ``LabelError`` (a ``ValueError``) otherwise.
"""

from ._native import LabelError, __version__, check, embed, propagate, read, scan_file

__all__ = ["LabelError", "__version__", "check", "embed", "propagate", "read", "scan_file"]
