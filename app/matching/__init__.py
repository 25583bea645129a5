"""Faces and the index: pure Python, dlib, numpy and Annoy. Nothing here imports Flask.

- ``images``           loading photos safely (format from content, EXIF, pixel limits)
- ``faces``            detection, landmarks, aligned chips, descriptors, quality figures
- ``recognizer_onnx``  dlib's recognition network run with ONNX Runtime (same weights)
- ``processing``       the reviewer's recorded image operations
- ``probe``            a probe prepared from its photo and a recorded recipe
- ``suitability``      whether a probe is fit to search
- ``analysis_store``   face analyses kept on disk, shared by every worker process
- ``enroll``           describing one gallery photo (plain data in and out, for worker processes)
- ``scoring``          distance to a 0-100 similarity score
- ``index``            versioned Annoy + exact-scan files, atomic switch, search
- ``tuning``           the search settings and the recall each keeps, measured at each build

The benchmarks live in ``benchmarks/`` (``bench_matching.py``, ``bench_scale.py``).
"""
